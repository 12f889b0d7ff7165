import ArgumentParser
import Foundation
import Geometry
import Imaging
import Testing
import TexfieldCLI

private func tempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-fit-cli-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func run(_ args: [String]) throws {
    try TexfieldCommand.run(arguments: args)
}

@Suite struct FitCLITests {
    /// fit → every output file; eval and bake read the folder back; the experiment runs two
    /// shards and merges them into a table.
    @Test func fitEvalBakeAndExperiment() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir + "/m"])
        let small = ["-k", "16", "--size", "32", "--steps", "40", "--batch", "256", "--test-views", "3", "--validate-every", "20", "--quiet"]
        try run(["fit", dir + "/m/torus.obj", "--out", dir + "/fit"] + small)
        for f in ["metrics.json", "report.html", "texture.png", "model.safetensors", "checkpoint.safetensors", "run.json", "curve.png"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/fit/" + f), "missing \(f)")
        }
        let views = try FileManager.default.contentsOfDirectory(atPath: dir + "/fit/views")
        #expect(views.count >= 1 && views.allSatisfy { $0.hasSuffix(".png") })
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/fit/metrics.json"))) as! [String: Any]
        #expect(m["steps"] as? Int == 40 && m["parameters"] as? Int != nil)
        let html = try String(contentsOfFile: dir + "/fit/report.html", encoding: .utf8)
        #expect(html.contains("Test PSNR") && html.contains("views/view_"))
        try run(["eval", dir + "/fit"])
        #expect(FileManager.default.fileExists(atPath: dir + "/fit/eval.json"))
        try run(["bake", dir + "/fit", "--width", "64", "--height", "32", "-o", dir + "/baked.png"])
        let baked = try Image.readPNG(path: dir + "/baked.png")
        #expect(baked.width == 64 && baked.height == 32)
        // Cameras out and in: the run's transforms.json rendered as a photo set (RGBA, alpha =
        // mask), and a fit on the run's cameras scores the same as the run.
        #expect(FileManager.default.fileExists(atPath: dir + "/fit/cameras.json") && FileManager.default.fileExists(atPath: dir + "/fit/transforms.json"))
        try run(["render", dir + "/m/torus.obj", "--cameras", dir + "/fit/cameras.json", "--transforms-out", dir + "/photos"])
        let photo = try Image.readPNG(path: dir + "/photos/images/test_000.png")
        #expect(photo.channels == 4 && photo.width == 32)
        #expect(FileManager.default.fileExists(atPath: dir + "/photos/transforms.json"))
        try run(["fit", dir + "/m/torus.obj", "--out", dir + "/fit-cams", "--cameras", dir + "/photos/transforms.json"] + small)
        let mc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/fit-cams/metrics.json"))) as! [String: Any]
        #expect((mc["test"] as! [String: Any])["meanPSNR"] as? Double == (m["test"] as! [String: Any])["meanPSNR"] as? Double)
        #expect(throws: (any Error).self) { try run(["fit", "--resume", dir + "/fit", "--cameras", dir + "/fit/cameras.json"]) }
        // Resume a finished run with a larger step budget: continues from step 40.
        try run(["fit", "--resume", dir + "/fit", "--steps", "50", "--quiet"])
        let m2 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/fit/metrics.json"))) as! [String: Any]
        #expect(m2["steps"] as? Int == 50)
        for shard in ["0/2", "1/2"] {
            try run(["experiment", "encodings", dir + "/m/torus.obj", "--out", dir + "/exp", "--encodings", "eigen,abs",
                     "--seeds", "1", "--shard", shard] + small)
        }
        try run(["experiment", "merge", dir + "/exp"])
        let table = try String(contentsOfFile: dir + "/exp/table.md", encoding: .utf8)
        #expect(table.contains("| eigen | 1 |") && table.contains("| abs | 1 |"))
    }

    @Test func fitErrorsNameTheProblem() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "icosphere", "-s", "3", "--out", dir + "/s.obj"])  // no UVs
        #expect { try run(["fit", dir + "/s.obj", dir + "/none.png", "--out", dir + "/o", "--quiet"]) } throws: {
            "\($0)".contains("s.obj") && "\($0)".contains("texture coordinates")
        }
        try run(["mesh", "demo", "--out", dir + "/m"])
        #expect { try run(["fit", dir + "/m/torus.obj", dir + "/missing.png", "--out", dir + "/o", "--quiet"]) } throws: {
            "\($0)".contains("missing.png")
        }
        #expect { try run(["fit", dir + "/m/torus.obj", "-k", "5000", "--out", dir + "/o", "--quiet"]) } throws: {
            "\($0)".contains("-k 5000") && "\($0)".contains("vertices")
        }
        #expect { try run(["eval", dir + "/nothing"]) } throws: { "\($0)".contains("run.json") }
        #expect(throws: (any Error).self) { try run(["experiment", "encodings", dir + "/m/torus.obj", "--shard", "3/2"]) }
    }

    /// `--view-dependent` reaches the configuration (off by default).
    @Test func viewDependentFlag() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir + "/m"])
        let small = ["-k", "8", "--size", "24", "--steps", "10", "--batch", "128", "--test-views", "2", "--quiet"]
        try run(["fit", dir + "/m/torus.obj", "--out", dir + "/fit", "--view-dependent"] + small)
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/fit/metrics.json"))) as! [String: Any]
        #expect((m["configuration"] as? [String: Any])?["viewDependent"] as? Bool == true)
    }

    /// `transfer` from the command line: to the run's own mesh with an identity vertex map (text
    /// file), writing transfer.json; a map entry that is not an integer is named with its line.
    @Test func transferCommand() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir + "/m"])
        try run(["fit", dir + "/m/torus.obj", "--out", dir + "/fit", "-k", "8", "--size", "24", "--steps", "20", "--batch", "128", "--test-views", "2", "--quiet"])
        let n = try Mesh.readOBJ(path: dir + "/m/torus.obj").vertexCount
        try (0..<n).map { "\($0)" }.joined(separator: "\n").write(toFile: dir + "/map.txt", atomically: true, encoding: .utf8)
        try run(["transfer", dir + "/fit", dir + "/m/torus.obj", "--align", "fmap", "--correspondence", dir + "/map.txt", "-o", dir + "/tr"])
        let t = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/tr/transfer.json"))) as! [String: Any]
        #expect(t["alignment"] as? String == "fmap" && t["vertices"] as? Int == n)
        try "0\n1\nx\n".write(toFile: dir + "/bad.txt", atomically: true, encoding: .utf8)
        #expect { try run(["transfer", dir + "/fit", dir + "/m/torus.obj", "--correspondence", dir + "/bad.txt"]) } throws: { "\($0)".contains("bad.txt:3") }
    }

    /// `fit` without --lr takes the default rate of its budget (4e-3 for a short one; metrics.json
    /// and the stored configuration say which), --lr overrides it, and a bad rate is refused.
    @Test func fitLearningRateOption() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir + "/m"])
        let small = ["-k", "8", "--size", "24", "--steps", "10", "--batch", "128", "--test-views", "2", "--quiet"]
        func rate(_ name: String, _ extra: [String]) throws -> (Double?, Any?) {
            try run(["fit", dir + "/m/torus.obj", "--out", dir + "/" + name] + small + extra)
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + name + "/metrics.json"))) as! [String: Any]
            return (m["learningRate"] as? Double, (m["configuration"] as? [String: Any])?["learningRate"])
        }
        let (d, dc) = try rate("default", [])
        #expect(d == 4e-3 && dc as? Double == 4e-3) // resolved when the fit starts: a resume keeps it
        let (g, gc) = try rate("given", ["--lr", "1e-3"])
        #expect(g == 1e-3 && gc as? Double == 1e-3)
        #expect(throws: (any Error).self) { _ = try TexfieldCommand.parseAsRoot(["fit", "x.obj", "--lr", "-1"]) }
    }

    /// The defaults study's options: learning-rate settings parse or are refused, snapshots must
    /// lie within the step budget, unknown cases are named.
    @Test func defaultsStudyOptions() throws {
        for good in ["default", "reference", "cosine-1e-3", "constant-5e-4", "cosine-4e-3-w500"] {
            _ = try TexfieldCommand.parseAsRoot(["experiment", "defaults", "--settings", good])
        }
        for bad in ["fast", "cosine-", "cosine-2", "cosine-1e-3-w0", "linear-1e-3", "cosine-nan"] {
            #expect(throws: (any Error).self) { _ = try TexfieldCommand.parseAsRoot(["experiment", "defaults", "--settings", bad]) }
        }
        #expect(throws: (any Error).self) { _ = try TexfieldCommand.parseAsRoot(["experiment", "defaults", "--steps", "10", "--snapshot-steps", "20"]) }
        #expect { try run(["experiment", "defaults", "--cases", "teapot", "--merge-only", "--out", "/nonexistent"]) } throws: { "\($0)".contains("teapot") }
    }

    /// The study end to end at a tiny budget: two settings on the demo torus, snapshots, the table
    /// and results.json; a second call skips the finished runs.
    @Test func defaultsStudyEndToEnd() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-study-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["experiment", "defaults", "--out", dir, "--cases", "torus-demo", "--settings", "default,reference",
                    "--steps", "20", "--snapshot-steps", "10,20", "--quiet"]
        try run(args)
        let table = try String(contentsOfFile: dir + "/table.md", encoding: .utf8)
        #expect(table.contains("torus-demo") && table.contains("| default |") && table.contains("| reference |") && table.contains("step 20"))
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/results.json")))
        #expect("\(results)".contains("reference"))
        let model = dir + "/runs/torus-demo/default/metrics.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        try run(args)
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
    }
}
