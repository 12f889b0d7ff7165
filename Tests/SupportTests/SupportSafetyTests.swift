import Foundation
import Support
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func tempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-support-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Issue "safe on untrusted files": conversions that never trap, reads that say what is wrong,
/// writes that never replace a device or a pipe.
@Suite struct SupportSafetyTests {
    @Test func clampedConversions() {
        #expect(Int(clamping: .nan, to: 0...10) == 0)
        #expect(Int(clamping: .infinity, to: 0...10) == 10)
        #expect(Int(clamping: -.infinity, to: -3...10) == -3)
        #expect(Int(clamping: 1e308, to: 0...Int.max) == Int.max)
        #expect(Int(clamping: -1e308, to: Int.min...0) == Int.min)
        #expect(Int(clamping: 4.9, to: 0...10) == 4)
        for x in [1e308, -1e308, Double.nan, .infinity, -.infinity, 0.25, -0.25, 3.75] {
            let w = x.safeTextureCoordinate(wrap: true), c = x.safeTextureCoordinate(wrap: false)
            #expect(w >= 0 && w < 1, "wrap \(x) → \(w)")
            #expect(c >= -1 && c <= 2, "clamp \(x) → \(c)")
        }
        #expect(0.25.safeTextureCoordinate(wrap: true) == 0.25 && (-0.25).safeTextureCoordinate(wrap: true) == 0.75)
    }

    @Test func readsSayWhatIsWrong() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func reason(_ path: String, limit: Int = InputFile.defaultLimit) -> String {
            do { _ = try InputFile.read(path, limit: limit); return "" } catch let e as FileReadError { return e.description } catch { return "\(error)" }
        }
        #expect(reason(dir + "/missing").contains("no such file"))
        #expect(reason(dir).contains("folder"))
        try Data(repeating: 65, count: 100).write(to: URL(fileURLWithPath: dir + "/a.txt"))
        #expect(reason(dir + "/a.txt", limit: 10).contains("more than the limit"))
        #expect(try InputFile.read(dir + "/a.txt").count == 100)
        if FileManager.default.fileExists(atPath: "/dev/zero") {
            #expect(reason("/dev/zero").contains("character device"))
        }
        // A pipe is read (process substitution), up to the limit.
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = "hello\n".withCString { write(fd, $0, 6) }
            close(fd)
        }
        writer.start()
        #expect(try InputFile.readText(fifo) == "hello\n")
        // UTF-8 byte-order mark removed; other encodings named.
        try Data([0xEF, 0xBB, 0xBF, 0x61]).write(to: URL(fileURLWithPath: dir + "/bom.txt"))
        #expect(try InputFile.readText(dir + "/bom.txt") == "a")
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: dir + "/bad.txt"))
        #expect(throws: FileReadError.self) { _ = try InputFile.readText(dir + "/bad.txt") }
    }

    /// As root, `-o /dev/null` used to replace /dev/null by a regular file (the atomic rename).
    @Test func writesRefuseNonRegularTargets() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: FileWriteError.self) { try AtomicFile.write(Data("x".utf8), to: fifo) }
        var st = stat()
        #expect(stat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)  // still a pipe
        #expect(throws: FileWriteError.self) { try AtomicFile.write(Data("x".utf8), to: dir) }
        // A symbolic link to a regular file: the file is replaced, the link stays.
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/target"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "target")
        try AtomicFile.write(Data("new".utf8), to: dir + "/link")
        #expect(try String(contentsOfFile: dir + "/target", encoding: .utf8) == "new")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link")) == "target")
    }

    @Test func hashesAndMessages() throws {
        #expect(ContentHash.of(Data()) == "fnv1a64:cbf29ce484222325")  // FNV-1a's offset basis
        #expect(ContentHash.of(Data("a".utf8)) == "fnv1a64:af63dc4c8601ec8c")  // FNV-1a 64 of "a" (published test vector)
        #expect(excerpt(String(repeating: "x", count: 10_000_000)).count < 80)
        struct S: Codable { var a: Int }
        do { _ = try JSONDecoder().decode(S.self, from: Data(#"{"a":"x"}"#.utf8)) } catch {
            #expect(describeDecodingError(error).hasPrefix("a: expected Int"))
        }
        #expect(String(decoding: try TexfieldJSON.encoder(pretty: false).encode([Double.nan, .infinity]), as: UTF8.self) == #"["nan","inf"]"#)
    }
}
