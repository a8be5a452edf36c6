//! Random numbers from the operating system (through ring, which liftoff
//! already uses for certificates): generated passwords and poll jitter.

use ring::rand::{SecureRandom, SystemRandom};

/// A random number in `0..bound` (0 when `bound` is 0), without modulo bias.
pub fn below(bound: u64) -> u64 {
    if bound <= 1 {
        return 0;
    }
    // Reject the top slice of u64 that would make some results more likely.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let value = u64::from_le_bytes(bytes::<8>());
        if value < zone {
            return value % bound;
        }
    }
}

/// `length` characters drawn uniformly from `A-Z`, `a-z` and `0-9`.
pub fn alphanumeric(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..length)
        .map(|_| char::from(ALPHABET[below(ALPHABET.len() as u64) as usize]))
        .collect()
}

fn bytes<const N: usize>() -> [u8; N] {
    let mut buffer = [0u8; N];
    SystemRandom::new()
        .fill(&mut buffer)
        .expect("the operating system's random number generator failed");
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_reaches_both_ends() {
        let draws: Vec<u64> = (0..2000).map(|_| below(3)).collect();
        assert!(draws.iter().all(|&d| d < 3));
        assert!(draws.contains(&0) && draws.contains(&2));
        assert_eq!(below(0), 0);
        assert_eq!(below(1), 0);
    }

    #[test]
    fn alphanumeric_has_the_length_and_alphabet() {
        let text = alphanumeric(32);
        assert_eq!(text.len(), 32);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(text, alphanumeric(32));
    }
}
