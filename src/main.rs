//! `stegosim`: one program, many verbs (see README.md).

fn main() {
    println!("stegosim");
}
