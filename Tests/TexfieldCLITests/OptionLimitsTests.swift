import ArgumentParser
import Foundation
import Geometry
import Testing
import TexfieldCLI

#if canImport(Glibc)
import Glibc
#endif

private func tempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-limits-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The message of a command that must fail (empty when it succeeded).
private func failure(_ args: [String]) -> String {
    do { try TexfieldCommand.run(arguments: args); return "" } catch {
        return TexfieldCommand.message(for: error)
    }
}

@Suite struct OptionLimitsTests {
    /// Options such as --batch, --test-views, --graphs, --window, --count and --cells had no
    /// upper bound and ended in "failed to allocate"; each is refused naming the option and value.
    @Test func unboundedOptionsRefused() {
        for (args, option) in [
            (["fit", "m.obj", "--batch", "100000000000"], "--batch"),
            (["fit", "m.obj", "--test-views", "99999999"], "--test-views"),
            (["fit", "m.obj", "--lr", "1e30"], "--lr"),
            (["fit", "m.obj", "--seconds", "inf"], "--seconds"),
            (["fit", "m.obj", "--bands", "5-3"], "--bands"),
            (["fit", "m.obj", "--size", "4611686018427387904"], "pixels"),
            (["fit", "m.obj", "--bands", "0-9,5-12"], "--bands"),
            (["fit", "m.obj", "--size", "4096", "--test-views", "1000"], "rendered pixels"),
            (["graphs", "count", "--graphs", "99999999999"], "--graphs"),
            (["graphs", "csl", "--lr", "1e30"], "--lr"),
            (["dynamics", "map", "--window", "99999999999"], "--window"),
            (["dynamics", "train", "--batch", "99999999999"], "--batch"),
            (["dynamics", "train", "--hidden", "1000000"], "--hidden"),
            (["render", "m.obj", "--view", "all", "--count", "99999999"], "--count"),
            (["mesh", "grid", "--cells", "99999999", "-o", "/tmp/x.obj"], "--cells"),
            (["eigs", "m.obj", "-k", "99999999999", "--out", "/tmp/e"], "-k"),
            (["bench", "train", "--batch", "99999999999"], "--batch"),
        ] {
            let m = failure(args)
            #expect(m.contains(option), "\(args.joined(separator: " ")) → \(m)")
        }
    }

    /// `-o` on a pipe (or, as root, a device such as /dev/null) is refused instead of replaced
    /// by the atomic rename.
    @Test func outputOnAPipeRefused() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Mesh.icosphere(subdivisions: 2).writeOBJ(path: dir + "/s.obj")
        #expect(mkfifo(dir + "/out.obj", 0o600) == 0)
        let m = failure(["mesh", "icosphere", "-s", "2", "-o", dir + "/out.obj"])
        #expect(m.contains("not a regular file"), "\(m)")
        var st = stat()
        #expect(stat(dir + "/out.obj", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
    }

    /// A failing `eigs` into a folder of an earlier result never leaves new arrays beside the old
    /// summary: the summary (the manifest) goes before the arrays are replaced.
    @Test func eigsFolderStaysConsistent() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Mesh.icosphere(subdivisions: 3).writeOBJ(path: dir + "/s.obj")
        try TexfieldCommand.run(arguments: ["eigs", dir + "/s.obj", "-k", "4", "--out", dir + "/e", "--no-cache", "--quiet"])
        #expect(FileManager.default.fileExists(atPath: dir + "/e/summary.json"))
        // eigenvectors.npy made a folder: writing it fails after the summary was removed.
        try FileManager.default.removeItem(atPath: dir + "/e/eigenvectors.npy")
        try FileManager.default.createDirectory(atPath: dir + "/e/eigenvectors.npy", withIntermediateDirectories: false)
        #expect(!failure(["eigs", dir + "/s.obj", "-k", "5", "--out", dir + "/e", "--no-cache", "--quiet"]).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/e/summary.json"))
    }
}
