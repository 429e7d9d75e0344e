//! ticker: a Wharf plugin in Rust that keeps a listener's counts in a shared
//! zone, so every worker (and a reload's new instance) counts in the same
//! place. The zone holds a `wharf_kv.h` table (wharf_sdk::Kv), which a C or
//! C++ plugin reading the same zone sees as its own.
//!
//! Each worker's instance runs a timer every `option.tick_ms` (default 1000)
//! that adds one to the key "ticks" and wakes the sessions that asked with
//! `watch`. A stream session counts itself in "sessions" when it opens, then
//! answers lines:
//!
//!   count            "sessions N ticks T pid P"
//!   get KEY          the key's value, or "(none)"
//!   set KEY VALUE    "ok"
//!   incr KEY         the key's new value (an 8-byte integer, as wharf_kv_incr's)
//!   wait MS          "timer fired" after MS milliseconds (a session timer)
//!   watch            "tick" at the next tick (a waker, posted from the timer)
//!   panic            panics: the session is closed and the panic logged, nothing else
//!   quit             closes the session
//!
//! Options: tick_ms, zone (the zone's name, default "ticker"), zone_size
//! (bytes, default 1 MiB).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wharf_sdk::{
    export_plugin, kv, Error, Instance, InstanceTimer, Kv, LogLevel, Plugin, Result, Session,
    Timer, Waker,
};

struct Shared {
    kv: Kv,
    watchers: Mutex<Vec<Waker>>,
}

struct Listener {
    shared: Arc<Shared>,
    _ticker: InstanceTimer, // cancelled when the instance goes
}

#[derive(Default)]
struct Connection {
    line: Vec<u8>,
    timers: Vec<Timer>, // cancelled if the session ends first
}

fn number(instance: &Instance, key: &str, default: u64) -> Result<u64> {
    match instance.option(key) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| Error::new(format!("option.{}: not a number", key))),
    }
}

fn tick(instance: &Instance, shared: &Shared) -> Result<()> {
    if shared.kv.incr(b"ticks", 1)? == 1 {
        instance.log(LogLevel::Info, "ticker: first tick");
    }
    let watchers = std::mem::take(&mut *shared.watchers.lock().map_err(|_| "poisoned")?);
    for waker in watchers {
        // Runs on the session's thread; dropped unrun if the session ended.
        waker.post(|session| session.write(b"tick\n").map(|_| ()));
    }
    Ok(())
}

fn answer(
    listener: &Listener,
    state: &mut Connection,
    session: &Session,
    line: &str,
) -> Result<()> {
    let kv = &listener.shared.kv;
    let mut words = line.split_whitespace();
    let reply = match (words.next(), words.next(), words.next()) {
        (Some("count"), None, None) => {
            let sessions = kv.incr(b"sessions", 0)?;
            let ticks = kv.incr(b"ticks", 0)?;
            format!("sessions {} ticks {} pid {}", sessions, ticks, std::process::id())
        }
        (Some("get"), Some(key), None) => match kv.get(key.as_bytes())? {
            Some(value) => String::from_utf8_lossy(&value).into_owned(),
            None => "(none)".to_string(),
        },
        (Some("set"), Some(key), Some(value)) => {
            kv.set(key.as_bytes(), value.as_bytes())?;
            "ok".to_string()
        }
        (Some("incr"), Some(key), None) => kv.incr(key.as_bytes(), 1)?.to_string(),
        (Some("wait"), Some(ms), None) => {
            let ms: u64 = ms.parse().map_err(|_| "wait: not a number")?;
            let timer =
                session.start_timer(Duration::from_millis(ms), Duration::ZERO, |session| {
                    session.write(b"timer fired\n")?;
                    Ok(())
                })?;
            state.timers.push(timer);
            return Ok(());
        }
        (Some("watch"), None, None) => {
            let waker = session.waker().ok_or("no waker for this session")?;
            listener.shared.watchers.lock().map_err(|_| "poisoned")?.push(waker);
            return Ok(());
        }
        (Some("panic"), None, None) => panic!("asked to panic"),
        (Some("quit"), None, None) => {
            session.close();
            return Ok(());
        }
        _ => format!("unknown command: {}", line),
    };
    session.write(format!("{}\n", reply).as_bytes())?;
    Ok(())
}

struct Ticker;

impl Plugin for Ticker {
    type Instance = Listener;
    type Session = Connection;

    fn new_instance(instance: &Instance) -> Result<Listener> {
        let tick_ms = number(instance, "tick_ms", 1000)?;
        let zone_name = instance.option("zone").unwrap_or_else(|| "ticker".to_string());
        let zone_size = number(instance, "zone_size", 1 << 20)? as usize;
        let zone = instance.zone(&zone_name, zone_size, kv::LAYOUT)?;
        let shared =
            Arc::new(Shared { kv: Kv::open(zone, 1024)?, watchers: Mutex::new(Vec::new()) });
        let (handle, for_timer) = (*instance, Arc::clone(&shared));
        let period = Duration::from_millis(tick_ms);
        let ticker = instance.start_timer(period, period, move || tick(&handle, &for_timer))?;
        Ok(Listener { shared, _ticker: ticker })
    }

    fn open(listener: &Listener, _session: &Session) -> Result<Connection> {
        listener.shared.kv.incr(b"sessions", 1)?;
        Ok(Connection::default())
    }

    fn data(
        listener: &Listener,
        state: &mut Connection,
        session: &Session,
        data: &[u8],
    ) -> Result<()> {
        state.line.extend_from_slice(data);
        while let Some(end) = state.line.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = state.line.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line).trim().to_string();
            answer(listener, state, session, &line)?;
        }
        Ok(())
    }
}

export_plugin!(Ticker, name: "ticker", version: "1.0.0",
               description: "counts ticks and sessions in a shared zone, in Rust",
               capabilities: wharf_sdk::CAP_EVENT | wharf_sdk::CAP_STREAM
                   | wharf_sdk::CAP_CONCURRENT | wharf_sdk::CAP_CLIENT_FIRST);
