import SettingsStore

/// libFuzzer entry point: the fleet-list validator on arbitrary entries (the VoxUI settings page
/// and `fleet add` input). The input's bytes, split at NUL, are the entries (as UTF-8, invalid
/// sequences repaired).
///
/// It must never trap; an accepted list must be normalised, unique, http/https only, without
/// user info, query or fragment, and a fixed point of normalisation; a refusal must name only
/// entries that are bad alone or duplicates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFleetList(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let values = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    do {
        let list = try FleetList(validating: values)
        precondition(list.urls.count == values.count && Set(list.urls).count == list.urls.count, "count or duplicates: \(values)")
        for url in list.urls {
            precondition(url.hasPrefix("http://") || url.hasPrefix("https://"), "scheme: \(url)")
            precondition(!url.hasSuffix("/") && !url.contains("?") && !url.contains("#"), "trailing / or query: \(url)")
            precondition(!url.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }, "odd character: \(url)")
            let authority = url.split(separator: "/", omittingEmptySubsequences: false)[2]
            precondition(!authority.contains("@") && authority == authority.lowercased(), "authority: \(url)")
            precondition((try? FleetEntry(url))?.url == url, "not a fixed point: \(url)")
        }
    } catch {
        precondition(!error.problems.isEmpty || values.count > FleetList.maximumCount, "refused without a reason: \(values)")
        for problem in error.problems {
            precondition(values.indices.contains(problem.index), "index out of range")
            if (try? FleetEntry(values[problem.index])) != nil {
                precondition(problem.reason.contains("duplicate") || problem.index >= FleetList.maximumCount, "valid alone but refused: \(values[problem.index])")
            }
        }
    }
    return 0
}
