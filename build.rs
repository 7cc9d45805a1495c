//! Rebuild when migrations change: they are embedded with include_dir.
//! Link the binary as a position-dependent executable (see below).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    // A fixed load address instead of a position-independent executable:
    // a PIE carries ~46,000 relative relocations (chrono-tz's zone tables,
    // the bundled SQLite's, vtables), which the dynamic loader writes at
    // every start, one copy-on-write page fault per page of
    // `.data.rel.ro` (~320): about 1 ms of each command's ~3, `ack` and
    // `create` included. The cost: the executable's own code and data are
    // not randomized (libraries, heap and stack still are).
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
