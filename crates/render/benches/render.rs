//! How long one step page takes to render (placeholder; filled in below).
fn main() {}
