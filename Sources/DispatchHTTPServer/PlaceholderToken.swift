/// Token values that stand in templates and examples, such as the `change-me` of
/// `deploy/voxbridge-dispatch.env`: published, so a service guarded by one is not guarded.
public enum PlaceholderToken {
    /// The known placeholders, in the form ``normalized(_:)`` gives.
    public static let known: Set<String> = [
        "changeme", "changemetoo", "replaceme", "placeholder", "yourtoken",
    ]

    /// Whether `token` is a known placeholder, ignoring case and anything but letters and digits
    /// (`CHANGE_ME` and `change me` are `change-me` too).
    public static func isPlaceholder(_ token: String) -> Bool {
        known.contains(normalized(token))
    }

    /// `token` lower-cased with everything but ASCII letters and digits dropped.
    public static func normalized(_ token: String) -> String {
        String(token.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }.map(Character.init))
    }
}
