import NIOCore
import NIOPosix

// Run Swift concurrency on NIO's event loop threads, before any task starts: a request's handler
// then runs on the thread that read it, instead of hopping to the global pool and back for every
// pick (measured: the hops cost more than the pick itself; see docs/BENCHMARKS.md).
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

await VoxBridgeDispatch.runFromCommandLine()
