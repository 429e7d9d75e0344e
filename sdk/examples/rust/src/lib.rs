//! rot13: a Wharf plugin in Rust. Each byte of a stream session comes back
//! rot13'ed, in every concurrency mode (event style). The wharf-sdk crate
//! makes the C hooks: nothing crosses the boundary but C (a panic is caught,
//! logged and fails that session only).

use wharf_sdk::{export_plugin, Instance, LogLevel, Plugin, Result, Session};

fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => (byte - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (byte - b'A' + 13) % 26 + b'A',
        _ => byte,
    }
}

struct Rot13;

impl Plugin for Rot13 {
    type Instance = ();
    type Session = ();

    fn new_instance(_instance: &Instance) -> Result<()> {
        Ok(())
    }

    fn open(_instance: &(), session: &Session) -> Result<()> {
        session.log(LogLevel::Info, "rot13 from Rust");
        Ok(())
    }

    fn data(_instance: &(), _state: &mut (), session: &Session, data: &[u8]) -> Result<()> {
        let answer: Vec<u8> = data.iter().map(|&byte| rot13(byte)).collect();
        session.write(&answer)?; // false if the peer has gone: nothing to do then
        Ok(())
    }
}

export_plugin!(Rot13, name: "rot13", version: "1.0.0", description: "rot13, written in Rust",
               capabilities: wharf_sdk::CAP_EVENT | wharf_sdk::CAP_STREAM
                   | wharf_sdk::CAP_CONCURRENT | wharf_sdk::CAP_FORK_SAFE);

#[cfg(test)]
mod tests {
    #[test]
    fn rot13_is_its_own_inverse() {
        let text = b"Hello, World";
        let once: Vec<u8> = text.iter().map(|&b| super::rot13(b)).collect();
        assert_eq!(once, b"Uryyb, Jbeyq");
        let twice: Vec<u8> = once.iter().map(|&b| super::rot13(b)).collect();
        assert_eq!(twice, text);
    }
}
