import Foundation

/// CPU time and memory of a process, read from `/proc/PID/stat` and `/proc/PID/status`.
public struct ProcessStats: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Resident set size now (`VmRSS`), in KiB.
    public var rssKiB: Int
    /// Peak resident set size (`VmHWM`), in KiB.
    public var peakRSSKiB: Int

    /// Reads the process `pid` now; `nil` when it is gone or the files cannot be read.
    public static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let ticks = cpuTicks(stat: stat),
              let memory = memoryKiB(status: status)
        else { return nil }
        let perSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessStats(cpuSeconds: Double(ticks) / perSecond, rssKiB: memory.rss, peakRSSKiB: memory.peak)
    }

    /// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks. The fields
    /// are counted after the `)` that closes the command name, which may itself hold spaces.
    public static func cpuTicks(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        // After ")": field 3 (state) is the first.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// `VmRSS` and `VmHWM` of a `/proc/PID/status` text, in KiB.
    public static func memoryKiB(status: String) -> (rss: Int, peak: Int)? {
        var rss: Int?
        var peak: Int?
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2 else { continue }
            if parts[0] == "VmRSS:" { rss = Int(parts[1]) }
            if parts[0] == "VmHWM:" { peak = Int(parts[1]) }
        }
        guard let rss, let peak else { return nil }
        return (rss, peak)
    }
}
