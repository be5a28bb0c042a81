//! The result of feeding a decoder a possibly incomplete input.

/// The outcome of a decode step: a value, or a request for more input.
///
/// Short input is not an error: a decoder that needs more bytes returns
/// [`Status::Partial`] and consumes nothing, like `httparse::Status`.
///
/// ```
/// use socketwire::Status;
/// let s: Status<usize> = Status::Complete(3);
/// assert!(s.is_complete());
/// assert_eq!(Status::<usize>::Partial.complete(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a `Complete` value is the decoded result; dropping it loses the input it consumed"]
pub enum Status<T> {
    /// The value was decoded.
    Complete(T),
    /// More input is needed; nothing was consumed.
    Partial,
}

impl<T> Status<T> {
    /// `true` for [`Status::Complete`].
    ///
    /// ```
    /// assert!(!socketwire::Status::<()>::Partial.is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }

    /// The value, if complete.
    ///
    /// ```
    /// assert_eq!(socketwire::Status::Complete(7).complete(), Some(7));
    /// ```
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Complete(v) => Some(v),
            Status::Partial => None,
        }
    }
}
