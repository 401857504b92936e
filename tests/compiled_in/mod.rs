//! What a browser test file needs from its test part (scripts/test.d/*.sh): a server's URL, a
//! token. The tests run in a browser, which has no environment, so the part passes them in
//! when it builds the tests; `option_env!`, not `env!`, as clippy and rustdoc build the test
//! files without them.

/// The value of `$name`, set by the test part `$part` when it built the tests.
macro_rules! compiled_in {
    ($name:literal, $part:literal) => {
        match option_env!($name) {
            Some(value) => value,
            None => panic!(concat!(
                $name,
                " must be set when building the tests (",
                $part,
                ")"
            )),
        }
    };
}
