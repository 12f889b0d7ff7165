import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file that could not be read. Names the file and the reason.
public struct FileReadError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): cannot read: \(reason)" }
}

/// Reading the files users give texfield: regular files and pipes (`<(…)`), never more than a
/// stated number of bytes, with errors that say what is wrong (no such file, a folder, a
/// device, permission, too large) instead of one generic failure.
public enum InputFile {
    /// The default limit: 4 GiB. Readers with smaller natural limits pass their own.
    public static let defaultLimit = 4 << 30

    /// What is at `path`, for messages: "a folder", "a FIFO", …; nil for a regular file.
    static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a pipe (FIFO)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// The bytes of the file at `path`; throws `FileReadError` naming the problem.
    public static func read(_ path: String, limit: Int = defaultLimit) throws -> Data {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            throw FileReadError(path: path, reason: e == ENOENT ? "no such file" : String(cString: strerror(e)))
        }
        let isPipe = (st.st_mode & S_IFMT) == S_IFIFO
        if let k = kind(st.st_mode), !isPipe {
            throw FileReadError(path: path, reason: "is \(k), not a regular file")
        }
        if !isPipe && Int(st.st_size) > limit {
            throw FileReadError(path: path, reason: "is \(st.st_size) bytes, more than the limit of \(limit) bytes")
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let e = errno
            throw FileReadError(path: path, reason: e == EACCES ? "permission denied" : String(cString: strerror(e)))
        }
        defer { close(fd) }
        var data = Data()
        if !isPipe { data.reserveCapacity(Int(st.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw FileReadError(path: path, reason: e == EISDIR ? "is a folder, not a regular file" : String(cString: strerror(e)))
            }
            if n == 0 { break }
            guard data.count + n <= limit else {
                throw FileReadError(path: path, reason: "is more than the limit of \(limit) bytes")
            }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// The file as UTF-8 text (a leading byte-order mark removed); an error names the file when
    /// it is not UTF-8.
    public static func readText(_ path: String, limit: Int = defaultLimit) throws -> String {
        var data = try read(path, limit: limit)
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileReadError(path: path, reason: "is not UTF-8 text")
        }
        return text
    }

    /// True when `path` exists and is a regular file or a pipe.
    public static func isReadable(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let t = st.st_mode & S_IFMT
        return t == S_IFREG || t == S_IFIFO
    }
}

/// A short, printable excerpt of a token from a file, for messages: at most `limit` characters,
/// with the length said when cut (a 10 MB token is never echoed whole).
public func excerpt<S: StringProtocol>(_ token: S, limit: Int = 40) -> String {
    let s = String(token)
    if s.count <= limit { return s }
    return String(s.prefix(limit)) + "… (\(s.utf8.count) bytes)"
}
