//! The conformance suite: every store test as a function over any [`Store`](crate::Store), run
//! by each backend's own tests.
