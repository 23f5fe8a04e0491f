//! stegosim-reports: see README.md in this folder.
