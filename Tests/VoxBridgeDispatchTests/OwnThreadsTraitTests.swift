import DispatchHTTPServer
import Foundation
import Testing

@Suite("Tests that block threads run on threads of their own", .ownThreads)
struct OwnThreadsTraitTests {
    @Test("8 tasks each blocking its thread for 200 ms run side by side, not one per core at a time")
    func blockedTasksRunSideBySide() async {
        #expect(OwnThreadsExecutor.isCurrent)
        // On the shared pool (one thread per core) 8 blocked tasks would take 8 × 200 ms / cores:
        // 800 ms on the 2-core CI machine. On the trait's threads they all block at once.
        let start = ContinuousClock.now
        let onOwnThreads = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    usleep(200_000)
                    return OwnThreadsExecutor.isCurrent
                }
            }
            return await group.reduce(true) { $0 && $1 }
        }
        let elapsed = ContinuousClock.now - start
        #expect(onOwnThreads, "a child task ran on the shared pool")
        #expect(elapsed < .milliseconds(700), "8 blocked tasks took \(elapsed)")
    }

    @Test("a synchronous test body runs on the trait's threads too")
    func synchronousBody() {
        #expect(OwnThreadsExecutor.isCurrent)
    }
}
