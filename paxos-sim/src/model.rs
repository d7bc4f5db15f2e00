//! Model checking (in progress).
