//! Reading an HTTP answer's body under a size cap, for every backend: the body is counted as it
//! arrives, and one past the cap is dropped, never buffered whole (a server, or whoever sits
//! between, may send anything).

/// Why a capped read gave no body.
#[derive(Debug)]
pub enum Capped {
    /// Longer than the cap, by its announced length or as it came.
    TooLarge,
    /// The connection failed while the body arrived.
    Transport(reqwest::Error),
}

/// The body of `response`, at most `max` bytes.
pub async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, Capped> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX))
    {
        return Err(Capped::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Transport)? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &'static [u8]) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(body))
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole_and_one_past_it_is_refused() {
        assert_eq!(read_capped(answer(b"12345"), 5).await.unwrap(), b"12345");
        assert!(matches!(
            read_capped(answer(b"123456"), 5).await,
            Err(Capped::TooLarge)
        ));
    }
}
