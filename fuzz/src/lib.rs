//! Shared by the fuzz targets: what each does with its input.
pub mod driver;
