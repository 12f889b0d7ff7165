import Foundation
import Geometry
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `texfield` binary built beside the test bundle (nil when it was not built).
private func texfieldBinary() -> String? {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent("texfield").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// Runs the binary; sends SIGINT after `interruptAfter` seconds when given. Returns the exit code
/// (−2 when SIGINT ended the process before texfield installed its handler).
/// `stderr`: a file that receives the standard error.
private func run(_ binary: String, _ args: [String], interruptAfter: Double? = nil, stderr: String? = nil) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    if let f = stderr {
        _ = FileManager.default.createFile(atPath: f, contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: f))
    } else {
        p.standardError = FileHandle.nullDevice
    }
    try p.run()
    if let t = interruptAfter {
        Thread.sleep(forTimeInterval: t)
        if p.isRunning { kill(p.processIdentifier, SIGINT) }
    }
    p.waitUntilExit()
    return p.terminationReason == .uncaughtSignal ? -p.terminationStatus : p.terminationStatus
}

@Suite struct InterruptTests {
    /// Ctrl-C at any moment of `texfield fit` — during the eigenpairs, the rendering, the first
    /// steps, a validation, the evaluation or the baking — leaves either a finished run or a
    /// checkpoint that `--resume` finishes (it used to exit with an internal error and no
    /// checkpoint before the first validation).
    @Test func interruptAtAnyMoment() throws {
        guard let (binary, dir) = try Self.binaryAndTorusFolder("tf-sigint") else { return }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fit = ["-k", "200", "--steps", "400", "--batch", "1024", "--size", "96", "--test-views", "4", "--validate-every", "100", "--quiet"]
        // An uninterrupted run gives the time scale; the interrupts fall at fractions of it, the
        // last ones into the evaluation and the baking.
        let t0 = Date()
        #expect(try run(binary, ["fit", dir + "/t.obj", dir + "/t.png", "-o", dir + "/whole"] + fit) == 0)
        let whole = Date().timeIntervalSince(t0)
        var outcomes = [String]()
        for (i, fraction) in [0.005, 0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98].enumerated() {
            let delay = fraction * whole
            let out = dir + "/run\(i)"
            let rc = try run(binary, ["fit", dir + "/t.obj", dir + "/t.png", "-o", out] + fit, interruptAfter: delay)
            if rc == 0 {
                outcomes.append("finished")
            } else if rc == -SIGINT {
                // Before the handler was installed (argument parsing): nothing was started.
                #expect(!FileManager.default.fileExists(atPath: out + "/run.json"))
                outcomes.append("ended before starting")
                continue
            } else {
                #expect(rc == 130, "exit \(rc) after SIGINT at \(delay) s")
                #expect(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"), "no checkpoint after SIGINT at \(delay) s")
                #expect(try run(binary, ["fit", "--resume", out, "--quiet"]) == 0, "resume after SIGINT at \(delay) s")
                outcomes.append("resumed")
            }
            #expect(FileManager.default.fileExists(atPath: out + "/metrics.json") && FileManager.default.fileExists(atPath: out + "/texture.png"))
        }
        print("SIGINT outcomes (run of \(String(format: "%.1f", whole)) s): \(outcomes)")
    }

    /// `scancel` (SIGTERM) in the middle of an experiment's fit leaves a checkpoint; the
    /// experiment run again resumes that fit (it used to start it over) and ends with the numbers
    /// of an uninterrupted experiment.
    @Test func experimentResumesAFitCutOffBySIGTERM() throws {
        guard let (binary, dir) = try Self.binaryAndTorusFolder("tf-sigterm") else { return }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["experiment", "encodings", dir + "/t.obj", dir + "/t.png", "--encodings", "eigen", "--seeds", "1", "-k", "64",
                    "--steps", "600", "--batch", "1024", "--size", "64", "--test-views", "2"]
        #expect(try run(binary, args + ["-o", dir + "/whole", "--quiet"]) == 0)
        // Cut off once training has begun (the checkpoint of step 0 exists).
        let out = dir + "/cut", run0 = out + "/runs/eigen-seed0"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args + ["-o", out, "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        while p.isRunning && !FileManager.default.fileExists(atPath: run0 + "/checkpoint.safetensors") { Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.3)
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        guard p.terminationStatus == 130 else {
            print("skipped: the fit finished before SIGTERM arrived (exit \(p.terminationStatus))")
            return
        }
        #expect(FileManager.default.fileExists(atPath: run0 + "/checkpoint.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: run0 + "/metrics.json"))
        let stderr = dir + "/stderr.txt"
        #expect(try run(binary, args + ["-o", out], stderr: stderr) == 0)
        let log = try String(contentsOfFile: stderr, encoding: .utf8)
        #expect(log.contains("eigen seed 0: resuming its interrupted fit") && log.contains("resuming at step "), "\(log.prefix(2000))")
        func test(_ d: String) throws -> String {
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: d + "/runs/eigen-seed0/metrics.json"))) as? [String: Any]
            let t = try #require(j?["test"])
            return String(decoding: try JSONSerialization.data(withJSONObject: t, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try test(out) == test(dir + "/whole"))
    }

    /// The texfield binary and a new temporary folder holding t.obj (a torus) and t.png (`png`);
    /// nil (with a message) when the binary was not built beside the tests.
    static func binaryAndTorusFolder(_ prefix: String) throws -> (String, String)? {
        guard let binary = texfieldBinary() else {
            print("skipped: the texfield binary was not built beside the tests (swift build -c release first)")
            return nil
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Mesh.torus(segments: 48, rings: 24).writeOBJ(path: dir + "/t.obj")
        try #require(Data(base64Encoded: png)).write(to: URL(fileURLWithPath: dir + "/t.png"))
        return (binary, dir)
    }

    /// A 16 × 16 two-colour PNG.
    static let png = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAGklEQVR4nGN4oKCAFSk4PMCKGEY1jGoYvhoA3kAwEFVgYt0AAAAASUVORK5CYII="
}
