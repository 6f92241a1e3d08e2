//! A stand-in for `lamina __jail`, used by this crate's integration tests.

fn main() {
    lamina_sandbox::jail_main()
}
