//! stegosim-sim: see README.md in this folder.
