import Foundation

/// Content hashes of input files, recorded with a run so that a later `eval`, `bake` or
/// `--resume` notices when a mesh or texture changed since the fit (64-bit FNV-1a over the
/// bytes, written as "fnv1a64:<16 hex digits>"; for change detection, not security).
public enum ContentHash {
    public static func of(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { raw in
            for b in raw.bindMemory(to: UInt8.self) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return "fnv1a64:" + String(format: "%016llx", h)
    }

    /// The hash of the file at `path` (read as `InputFile.read` does).
    public static func file(_ path: String) throws -> String { of(try InputFile.read(path)) }
}

/// A one-line description of a JSON decoding failure: what was wrong and at which key path
/// (instead of the whole `DecodingError` dump); other errors as they describe themselves.
public func describeDecodingError(_ error: Error) -> String {
    func path(_ c: [CodingKey]) -> String {
        c.isEmpty ? "the top level" : c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    guard let e = error as? DecodingError else { return "\(error)" }
    switch e {
    case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t)"
    case .valueNotFound(let t, let c): return "\(path(c.codingPath)): missing \(t) value"
    case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): missing"
    case .dataCorrupted(let c):
        let underlying = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return "\(path(c.codingPath)): \(underlying ?? c.debugDescription)"
    @unknown default: return "\(error)"
    }
}
