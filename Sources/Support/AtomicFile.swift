import Foundation

/// A file that could not be written. Names the destination and the reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): cannot write: \(reason)" }
}

/// Atomic file writing: the data goes to a temporary file in the destination folder, which
/// is then renamed over the destination, so readers never see a half-written file, and an
/// interrupted writer leaves the previous version in place.
public enum AtomicFile {
    /// Writes `data` to `path` atomically. Throws `FileWriteError` when the folder does not exist
    /// or the write or the rename fails (the temporary file is then removed).
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { try $0.write(contentsOf: data) }
    }

    /// Writes a file atomically from pieces: `body` writes them to the handle of the temporary
    /// file (so a large array need not be copied into one `Data` first), which is then renamed
    /// over `path`. Throws `FileWriteError` as `write(_:to:)` does, and rethrows what `body` throws
    /// (the temporary file is removed in both cases).
    public static func write(to path: String, body: (FileHandle) throws -> Void) throws {
        var path = path
        // Never replace a device, a pipe or a folder by the rename (as root, `-o /dev/null`
        // would otherwise destroy /dev/null); a symbolic link is followed to its regular file.
        var st = stat()
        if stat(path, &st) == 0 {
            let t = st.st_mode & S_IFMT
            guard t == S_IFREG else {
                throw FileWriteError(path: path, reason: t == S_IFDIR ? "is a folder" : "exists and is not a regular file (a device, pipe or socket); texfield writes regular files only")
            }
            if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                path = resolved.hasPrefix("/") ? resolved : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(resolved).path
            }
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) || !isDir.boolValue {
            throw FileWriteError(path: path, reason: "folder \(dir.path) does not exist")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw FileWriteError(path: path, reason: "cannot create a file in \(dir.path): \(String(cString: strerror(errno)))")
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try body(handle)
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
        } catch let e as FileWriteError {
            try? FileManager.default.removeItem(at: tmp)
            throw e
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw FileWriteError(path: path, reason: error.localizedDescription)
        }
        if rename(tmp.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw FileWriteError(path: path, reason: reason)
        }
    }
}

/// JSON the way texfield writes it: sorted keys, pretty printed, and non-finite numbers as the
/// strings "inf", "-inf" and "nan" (so that writing never throws on a number).
public enum TexfieldJSON {
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
