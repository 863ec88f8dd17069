#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Synchronization

/// A minimal keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request with one fixed
/// health body: one thread accepts, one thread serves each connection.
///
/// It runs in the benchmark's own process, so its CPU time is counted with the prober's; use
/// `--url` against an external server (nginx) to measure the prober alone.
final class BenchServer: Sendable {
    /// The port the kernel chose.
    let port: Int
    private let listenFD: Int32
    private let stopped = Atomic<Bool>(false)
    private let threads = Mutex<[pthread_t]>([])
    private let connections = Mutex<Set<Int32>>([])
    private let response: [UInt8]

    /// Binds 127.0.0.1 port 0 and starts accepting.
    init(body: String) {
        response = Array(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 1024)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        spawn { [self] in acceptLoop() }
    }

    /// Stops accepting, cuts the open connections and joins every thread.
    func stop() {
        guard !stopped.exchange(true, ordering: .sequentiallyConsistent) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        connections.withLock { for fd in $0 { shutdown(fd, Int32(SHUT_RDWR)) } }
        // The accept thread is first; once it is joined no thread is added.
        while let thread = threads.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            pthread_join(thread, nil)
        }
        close(listenFD)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { if errno == EINTR { continue } else { return } }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections.withLock { _ = $0.insert(fd) }
            spawn { [self] in serve(fd) }
        }
    }

    /// Answers each complete request head (`\r\n\r\n`) with the fixed response.
    private func serve(_ fd: Int32) {
        defer {
            connections.withLock { _ = $0.remove(fd) }
            close(fd)
        }
        var buffer = [UInt8](repeating: 0, count: 8192)
        var pending = 0
        // Bytes of "\r\n\r\n" matched so far, carried across reads.
        var matched = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            for index in 0..<count {
                let byte = buffer[index]
                let expected: UInt8 = matched % 2 == 0 ? 13 : 10
                matched = byte == expected ? matched + 1 : (byte == 13 ? 1 : 0)
                if matched == 4 {
                    pending += 1
                    matched = 0
                }
            }
            while pending > 0 {
                pending -= 1
                var offset = 0
                while offset < response.count {
                    let sent = response.withUnsafeBytes {
                        send(fd, $0.baseAddress! + offset, response.count - offset, Int32(MSG_NOSIGNAL))
                    }
                    if sent <= 0 { return }
                    offset += sent
                }
            }
        }
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        if status == 0 {
            threads.withLock { $0.append(thread) }
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
        }
    }
}
