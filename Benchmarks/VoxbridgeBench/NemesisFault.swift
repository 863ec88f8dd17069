import Foundation

/// One fault the nemesis injects: what it does, to whom, healed together with the faults
/// injected beside it.
enum NemesisFault: Sendable, Equatable {
    /// One instance's link to PostgreSQL stalls (open, nothing passing); callers and the other
    /// members still reach it.
    case databaseLink(Int)
    /// Every instance's link to PostgreSQL stalls: the database is away for all.
    case databaseAway
    /// PostgreSQL stopped as a crash would (`pg_ctl stop -m immediate`), started again at the heal.
    case databaseRestart
    /// One instance cut from the other instances, both ways; it still reaches PostgreSQL and
    /// the callers reach it.
    case peers(Int)
    /// One instance cut from the callers, both ways; the members and PostgreSQL still reach it.
    case callers(Int)
    /// What the follower sends the leader is dropped (forwards, batches, questions); what the
    /// leader sends the follower passes.
    case oneWay(follower: Int, leader: Int)
    /// kill -9 of an instance, started again at the heal.
    case kill(Int)
    /// SIGSTOP of an instance (the leader, when one leads) for longer than the lease, SIGCONT
    /// at the heal.
    case pause(Int)

    /// The kinds, in the order the schedule draws them.
    static let kinds = ["partition instance-database", "database away for all", "database restart", "partition instance-instances",
                        "partition instance-callers", "one-way follower->leader", "kill -9", "pause > lease"]

    /// This fault's kind, one of ``kinds``.
    var kind: String {
        switch self {
        case .databaseLink: Self.kinds[0]
        case .databaseAway: Self.kinds[1]
        case .databaseRestart: Self.kinds[2]
        case .peers: Self.kinds[3]
        case .callers: Self.kinds[4]
        case .oneWay: Self.kinds[5]
        case .kill: Self.kinds[6]
        case .pause: Self.kinds[7]
        }
    }

    /// The instance the fault stops or freezes, if it does.
    var process: Int? {
        switch self {
        case .kill(let index), .pause(let index): index
        default: nil
        }
    }

    /// The kind and its instances, for the log.
    var description: String {
        switch self {
        case .databaseLink(let index), .peers(let index), .callers(let index), .kill(let index), .pause(let index): "\(kind) (instance \(index))"
        case .oneWay(let follower, let leader): "\(kind) (\(follower) -> \(leader))"
        case .databaseAway, .databaseRestart: kind
        }
    }

    /// A fault of kind `kind` (an index into ``kinds``) among `count` instances, `leader` the one
    /// that leads now, if one does.
    static func draw(kind: Int, count: Int, leader: Int?, using random: inout some RandomNumberGenerator) -> NemesisFault {
        let anyone = Int.random(in: 0..<count, using: &random)
        let leading = leader ?? anyone
        let follower = (0..<count).filter { $0 != leading }.randomElement(using: &random) ?? anyone
        return switch kind {
        case 0: .databaseLink(anyone)
        case 1: .databaseAway
        case 2: .databaseRestart
        case 3: .peers(anyone)
        case 4: .callers(anyone)
        case 5: .oneWay(follower: follower, leader: leading)
        case 6: .kill(anyone)
        default: .pause(leading)
        }
    }

    /// One step of the schedule: one fault (three times in four) or two at once, never two on
    /// one process nor two of one kind.
    static func schedule(count: Int, leader: Int?, using random: inout some RandomNumberGenerator) -> [NemesisFault] {
        let first = draw(kind: Int.random(in: 0..<kinds.count, using: &random), count: count, leader: leader, using: &random)
        guard Int.random(in: 0..<4, using: &random) == 0 else { return [first] }
        for _ in 0..<8 {
            let second = draw(kind: Int.random(in: 0..<kinds.count, using: &random), count: count, leader: leader, using: &random)
            if second.kind != first.kind, first.process == nil || second.process == nil || first.process != second.process {
                return [first, second]
            }
        }
        return [first]
    }
}

/// A step of the schedule as it happened: its faults, from when to when.
struct NemesisFaultRecord: Sendable {
    var faults: [NemesisFault]
    var start: ContinuousClock.Instant
    var end: ContinuousClock.Instant
}

/// SplitMix64: the schedule from `SEED` alone.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
