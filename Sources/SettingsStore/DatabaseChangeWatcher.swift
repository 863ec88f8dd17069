import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Tells, with one non-blocking `read` and no SQLite call, whether the settings database files
/// may have changed since the last look: an inotify watch on the database's folder.
///
/// The pick path asks before every pick. `PRAGMA data_version` alone answers the same question
/// exactly, but it opens a read transaction, which costs SQLite's file locks (four `fcntl` calls)
/// and was the largest part of a pick after the HTTP server itself (see docs/BENCHMARKS.md).
///
/// Why it is exact: the kernel queues the event while the writing process is still inside its
/// `write` of the WAL, so once that writer's commit has returned (the `fleet` command has
/// exited, say), the next look here sees it. Events are counted; a count stays "unchecked" until
/// a ``SQLiteChangeFeed`` poll that started after it has read `data_version` and applied the
/// list (``markChecked(through:)``), so a pick never takes the fast path on the strength of
/// another pick's poll that has not finished yet. Where inotify is unavailable, ``init(databasePath:)`` returns
/// `nil` and every pick asks SQLite, as before. Changes made on another host (a network file
/// system) are not seen: the `fleet` command runs on the same host as `serve`.
final class DatabaseChangeWatcher: Sendable {
    private struct State {
        /// How many times relevant events were drained; starts at 1 so the first look checks.
        var events: UInt64 = 1
        /// The event count that a finished refresh has covered.
        var checked: UInt64 = 0
    }

    private let descriptor: Int32
    private let names: Set<String>
    private let state = Mutex(State())

    /// Watches the folder of `databasePath` for writes to the database, its WAL and its journal.
    init?(databasePath: String) {
        // SQLite resolves a symbolic link to the database and keeps its WAL beside the target.
        let url = URL(fileURLWithPath: databasePath).standardizedFileURL.resolvingSymlinksInPath()
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        let mask = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB)
        guard inotify_add_watch(descriptor, url.deletingLastPathComponent().path, mask) >= 0 else {
            close(descriptor)
            return nil
        }
        let name = url.lastPathComponent
        self.descriptor = descriptor
        self.names = [name, name + "-wal", name + "-journal"]
    }

    deinit {
        close(descriptor)
    }

    /// The current event count when the database may have changed since the last finished
    /// refresh, or `nil` when it has not. Drains the queued events; cheap when there are none
    /// (one `read` answering `EAGAIN`).
    func uncheckedEvents() -> UInt64? {
        state.withLock { state in
            if drainEvents() { state.events &+= 1 }
            return state.events == state.checked ? nil : state.events
        }
    }

    /// Records that a refresh which started at event count `events` has read the database and
    /// applied what it found; later events stay unchecked.
    func markChecked(through events: UInt64) {
        state.withLock { state in
            if events > state.checked { state.checked = events }
        }
    }

    /// Reads every queued event; whether any named one of the database's files (or overflowed).
    private func drainEvents() -> Bool {
        var relevant = false
        let capacity = 4096
        return withUnsafeTemporaryAllocation(byteCount: capacity, alignment: MemoryLayout<inotify_event>.alignment) { buffer in
            while true {
                let count = read(descriptor, buffer.baseAddress, capacity)
                guard count > 0 else { return relevant }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= count {
                    let event = buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: inotify_event.self)
                    let nameLength = Int(event.pointee.len)
                    if event.pointee.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        relevant = true
                    } else if nameLength > 0 {
                        let namePointer = UnsafeRawPointer(event).advanced(by: MemoryLayout<inotify_event>.size)
                            .assumingMemoryBound(to: CChar.self)
                        if names.contains(String(cString: namePointer)) { relevant = true }
                    }
                    offset += MemoryLayout<inotify_event>.size + nameLength
                }
            }
        }
    }
}
