//! stegosim-loadgen: see README.md in this folder.
