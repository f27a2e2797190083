//! Rebuilds the server when the widget is rebuilt: rust-embed reads `dist/widget/` at compile
//! time (and finds nothing if it was not built yet), so cargo must know the folder matters.

fn main() {
    println!("cargo:rerun-if-changed=../dist/widget");
    println!("cargo:rerun-if-changed=../www/demo");
}
