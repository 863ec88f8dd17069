import LoadKit
import Testing

@Suite("Bench arithmetic")
struct LoadArithmeticTests {
    @Test("open loop: count, intended times and arrivals due")
    func openLoopSchedule() {
        let schedule = OpenLoopSchedule(ratePerSecond: 1000, duration: .seconds(2))
        #expect(schedule.count == 2000)
        #expect(schedule.intendedOffset(of: 0) == .zero)
        #expect(schedule.intendedOffset(of: 1500) == .milliseconds(1500))
        #expect(schedule.arrivalsDue(after: .milliseconds(-1)) == 0)
        #expect(schedule.arrivalsDue(after: .zero) == 1)
        #expect(schedule.arrivalsDue(after: .microseconds(1500)) == 2)
        #expect(schedule.arrivalsDue(after: .seconds(10)) == 2000)

        let slow = OpenLoopSchedule(ratePerSecond: 3, duration: .seconds(1))
        #expect(slow.count == 3)
        #expect(slow.intendedOffset(of: 2) == .nanoseconds(666_666_667))
        #expect(OpenLoopSchedule(ratePerSecond: 0.5, duration: .seconds(1)).count == 1)
    }

    @Test("percentiles of 1…1000 ms")
    func percentiles() {
        var recorder = LatencyRecorder()
        for milliseconds in 1...1000 { recorder.record(.milliseconds(milliseconds)) }
        let summary = recorder.summary
        #expect(summary.count == 1000)
        // HdrHistogram with 3 significant digits: within 0.1 %.
        #expect(abs(summary.p50Ms - 500) <= 0.5)
        #expect(abs(summary.p90Ms - 900) <= 0.9)
        #expect(abs(summary.p99Ms - 990) <= 1)
        #expect(abs(summary.p999Ms - 999) <= 1)
        #expect(abs(summary.maxMs - 1000) <= 1)
        #expect(recorder.percentileDistribution().contains("Value"))
    }

    @Test("a skewed distribution: 990 fast picks and 10 at the probe timeout")
    func skewed() {
        var recorder = LatencyRecorder()
        for _ in 0..<990 { recorder.record(.microseconds(800)) }
        for _ in 0..<10 { recorder.record(.milliseconds(500)) }
        #expect(abs(recorder.milliseconds(atPercentile: 50) - 0.8) <= 0.001)
        #expect(abs(recorder.milliseconds(atPercentile: 99) - 0.8) <= 0.001)
        #expect(abs(recorder.milliseconds(atPercentile: 99.9) - 500) <= 0.5)
        #expect(LatencyRecorder().summary.p99Ms == 0)
    }

    @Test("CPU ticks and memory from /proc texts")
    func procParsing() {
        let stat = "4242 (voxbridge dispatch) S 1 4242 4242 0 -1 4194560 1520 0 0 0 250 75 0 0 20 0 9 0 100 0"
        #expect(ProcessStats.cpuTicks(stat: stat) == 325)
        let status = "Name:\tvoxbridge\nVmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\nThreads:\t9\n"
        let memory = ProcessStats.memoryKiB(status: status)
        #expect(memory?.rss == 30720 && memory?.peak == 40960)
        #expect(ProcessStats.read(pid: getpid())?.rssKiB ?? 0 > 0)
    }
}

#if canImport(Glibc)
import Glibc
#endif
