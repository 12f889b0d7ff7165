import ArgumentParser
import Foundation
import Geometry
import Spectral
import Testing
import TexfieldCLI

private func tempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-cli-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func run(_ args: [String]) throws {
    try TexfieldCommand.run(arguments: args)
}

@Suite struct CLITests {
    @Test func eigsWritesNumPyFiles() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "icosphere", "-s", "6", "--jitter", "0.2", "--out", dir + "/s.obj"])
        try run(["eigs", dir + "/s.obj", "-k", "12", "--out", dir + "/e", "--cache-dir", dir + "/cache", "--quiet"])
        let values = try NPY.read(path: dir + "/e/eigenvalues.npy")
        let vectors = try NPY.read(path: dir + "/e/eigenvectors.npy")
        let mass = try NPY.read(path: dir + "/e/mass.npy")
        #expect(values.shape == [12] && vectors.shape == [362, 12] && mass.shape == [362])
        #expect(abs(values.values[1] - 2) < 0.05)
        // Second run comes from the cache and writes the same values.
        try run(["eigs", dir + "/s.obj", "-k", "12", "--out", dir + "/e2", "--cache-dir", dir + "/cache", "--quiet"])
        #expect(try NPY.read(path: dir + "/e2/eigenvalues.npy") == values)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/e2/summary.json"))) as! [String: Any]
        #expect(summary["cached"] as? Bool == true)
        // Range normalisation.
        try run(["eigs", dir + "/s.obj", "-k", "4", "--out", dir + "/e3", "--normalize", "range", "--no-cache", "--quiet"])
        try run(["eigs", dir + "/s.obj", "-k", "4", "--out", dir + "/e4", "--normalize", "range", "--float32", "--no-cache", "--quiet"])
        let v4 = try Data(contentsOf: URL(fileURLWithPath: dir + "/e4/eigenvectors.npy"))
        #expect(String(decoding: v4.prefix(64), as: UTF8.self).contains("<f4"))
        let v3 = try NPY.read(path: dir + "/e3/eigenvectors.npy")
        #expect(zip(try NPY.read(path: dir + "/e4/eigenvectors.npy").values, v3.values).allSatisfy { abs($0 - $1) < 1e-6 })
        let col = (0..<362).map { v3.values[$0 * 4 + 2] }
        #expect(abs(col.max()! - col.min()! - 1) < 1e-12)
    }

    /// `eigs --laplacian robust` caches apart from cotan and says which it used; `texfield
    /// laplacian` writes the operators as (i, j, value) rows whose L rows sum to zero.
    @Test func intrinsicLaplaciansFromTheCommandLine() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "icosphere", "-s", "6", "--jitter", "0.4", "--out", dir + "/s.obj"])
        try run(["eigs", dir + "/s.obj", "-k", "6", "--out", dir + "/cotan", "--cache-dir", dir + "/cache", "--quiet"])
        try run(["eigs", dir + "/s.obj", "-k", "6", "--out", dir + "/robust", "--laplacian", "robust", "--cache-dir", dir + "/cache", "--quiet"])
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/robust/summary.json"))) as! [String: Any]
        #expect(summary["cached"] as? Bool == false && summary["laplacian"] as? String == "robust" && summary["mass"] as? String == "barycentric")
        #expect(try NPY.read(path: dir + "/robust/eigenvalues.npy") != NPY.read(path: dir + "/cotan/eigenvalues.npy"))
        try run(["laplacian", dir + "/s.obj", "-o", dir + "/ops", "--quiet"])
        let L = try NPY.read(path: dir + "/ops/stiffness.npy"), M = try NPY.read(path: dir + "/ops/mass_matrix.npy")
        #expect(L.shape.count == 2 && L.shape[1] == 3 && M.shape == [362, 3])
        var rowSums = [Double](repeating: 0, count: 362)
        for r in 0..<L.shape[0] { rowSums[Int(L.values[3 * r])] += L.values[3 * r + 2] }
        #expect(rowSums.allSatisfy { abs($0) < 1e-12 })
        #expect(throws: (any Error).self) { try run(["laplacian", dir + "/s.obj", "-o", dir + "/x", "--mollify", "-1"]) }
        // The sphere's vertices as a point cloud (.xyz), and as a PLY mesh.
        let mesh = try Mesh.readOBJ(path: dir + "/s.obj")
        let xyz = (0..<mesh.vertexCount).map { i in "\(mesh.positions[3 * i]) \(mesh.positions[3 * i + 1]) \(mesh.positions[3 * i + 2])" }
        try xyz.joined(separator: "\n").write(toFile: dir + "/cloud.xyz", atomically: true, encoding: .utf8)
        #expect { try run(["eigs", dir + "/cloud.xyz", "-k", "4", "--out", dir + "/c0", "--quiet"]) } throws: { "\($0)".contains("point cloud") }
        try run(["eigs", dir + "/cloud.xyz", "-k", "4", "--out", dir + "/cloud", "--laplacian", "robust", "--quiet"])
        let cv = try NPY.read(path: dir + "/cloud/eigenvalues.npy").values
        #expect(abs(cv[1] - 2) < 0.2, "\(cv)")
        // The union of the local triangulations as a mesh; both normal rules; --triangles refuses meshes.
        try run(["laplacian", dir + "/cloud.xyz", "-o", dir + "/lc", "--triangles", dir + "/union.obj", "--quiet"])
        let union = try Mesh.read(path: dir + "/union.obj")
        #expect(union.vertexCount == mesh.vertexCount && union.triangleCount > mesh.vertexCount)
        try run(["laplacian", dir + "/cloud.xyz", "-o", dir + "/lr", "--cloud-normals", "robust-laplacian-1.1", "--quiet"])
        #expect(FileManager.default.fileExists(atPath: dir + "/lr/stiffness.npy"))
        #expect { try run(["laplacian", dir + "/s.obj", "-o", dir + "/lm", "--triangles", dir + "/x.obj", "--quiet"]) } throws: {
            "\($0)".contains("point clouds")
        }
        try mesh.writePLY(path: dir + "/s.ply")
        try run(["eigs", dir + "/s.ply", "-k", "6", "--out", dir + "/ply", "--no-cache", "--quiet"])
        #expect(try NPY.read(path: dir + "/ply/eigenvalues.npy") == NPY.read(path: dir + "/cotan/eigenvalues.npy"))
    }

    @Test func errorsNameTheProblem() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "icosphere", "-s", "2", "--out", dir + "/s.obj"])
        #expect { try run(["eigs", dir + "/s.obj", "-k", "100", "--out", dir + "/e", "--no-cache"]) } throws: {
            "\($0)".contains("exceeds the number of vertices") && "\($0)".contains("s.obj")
        }
        #expect { try run(["eigs", dir + "/missing.obj", "-k", "3", "--out", dir + "/e"]) } throws: {
            "\($0)".contains("missing.obj") && "\($0)".contains("no such file")
        }
        try "v 0 0 0\nv 1 0 zz\n".write(toFile: dir + "/bad.obj", atomically: true, encoding: .utf8)
        #expect { try run(["info", dir + "/bad.obj"]) } throws: { "\($0)".contains("bad.obj:2") }
        #expect(throws: (any Error).self) { try run(["eigs", dir + "/s.obj", "-k", "0", "--out", dir + "/e"]) }
    }

    /// `mesh deform`: built-in poses keep the vertices and triangles; a handle file's errors name
    /// the file and line.
    @Test func meshDeform() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "torus", "--out", dir + "/t.obj"])
        try run(["mesh", "deform", dir + "/t.obj", "--pose", "bend", "-o", dir + "/b.obj"])
        let a = try Mesh.read(path: dir + "/t.obj"), b = try Mesh.read(path: dir + "/b.obj")
        #expect(a.triangles == b.triangles && a.positions != b.positions)
        try "0 0 0 0\n1 0 0 0\n".write(toFile: dir + "/h.txt", atomically: true, encoding: .utf8)
        try run(["mesh", "deform", dir + "/t.obj", "--pose", dir + "/h.txt", "-o", dir + "/h.obj"])
        try "0 0 0 0\n1 x 0 0\n".write(toFile: dir + "/bad.txt", atomically: true, encoding: .utf8)
        #expect { try run(["mesh", "deform", dir + "/t.obj", "--pose", dir + "/bad.txt", "-o", dir + "/x.obj"]) } throws: {
            "\($0)".contains("bad.txt:2")
        }
        try "99999 0 0 0\n".write(toFile: dir + "/far.txt", atomically: true, encoding: .utf8)
        #expect { try run(["mesh", "deform", dir + "/t.obj", "--pose", dir + "/far.txt", "-o", dir + "/x.obj"]) } throws: {
            "\($0)".contains("far.txt:1") && "\($0)".contains("99999")
        }
        #expect(throws: (any Error).self) { try run(["mesh", "deform", dir + "/t.obj", "--pose", "wiggle", "-o", dir + "/x.obj"]) }
    }

    /// `experiment transfer`: targets made once, fits and transfers written, the table merged;
    /// a second call finds everything done.
    @Test func transferExperiment() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir + "/demo"])
        let args = ["experiment", "transfer", dir + "/demo/torus.obj", "-o", dir + "/x", "--encodings", "eigen,projector",
                    "--targets", "control,decimate,bend", "--steps", "30", "-k", "8", "--train-views", "2", "--test-views", "1",
                    "--size", "32", "--quiet"]
        try run(args)
        let table = try String(contentsOfFile: dir + "/x/table.md", encoding: .utf8)
        #expect(table.contains("| eigen |") && table.contains("| projector |") && table.contains("bend-zoomout") && table.contains("decimate-fmap"))
        #expect(FileManager.default.fileExists(atPath: dir + "/x/targets/bend.zoomout.txt"))
        #expect(FileManager.default.fileExists(atPath: dir + "/x/runs/eigen-seed0/transfer/decimate-sign/transfer.json"))
        try run(args)
        try run(["experiment", "transfer", "--merge", "-o", dir + "/x"])
    }

    @Test func infoAndDemoMeshes() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["mesh", "demo", "--out", dir])
        for f in ["torus.obj", "torus.mtl", "torus.png", "icosphere.obj"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f)")
        }
        let torus = try Mesh.readOBJ(path: dir + "/torus.obj")
        #expect(torus.hasTexcoords && torus.diffuseTexturePath == dir + "/torus.png")
        #expect(torus.report().genus == 1)
        try run(["info", dir + "/torus.obj", "--json"])
    }
}

@Suite struct MetricsCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ImagingTests/Fixtures").path

    @Test func metricsCommand() throws {
        let f = Self.fixtures
        try run(["metrics", f + "/pair_a.png", f + "/pair_b.png", "--mask", f + "/pair_mask.png", "--ssim", "inf", "--json"])
        try run(["metrics", f + "/pair_a.png", f + "/pair_b.png"])
        #expect { try run(["metrics", f + "/pair_a.png", f + "/rgb8.png"]) } throws: { "\($0)".contains("differ in size") }
        #expect { try run(["metrics", f + "/pair_a.png", f + "/missing.png"]) } throws: { "\($0)".contains("missing.png") }
        #expect(throws: (any Error).self) { try run(["metrics", f + "/pair_a.png", f + "/pair_b.png", "--ssim", "bogus"]) }
    }
}

@Suite struct GraphsCLITests {
    /// Each graph experiment writes results.json and table.md; --resume keeps finished runs.
    @Test func experimentsWriteResultsAndResume() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["graphs", "csl", "--encodings", "none,signnet", "--seeds", "1", "--epochs", "2", "-k", "4", "-o", dir + "/csl"])
        try run(["graphs", "count", "--encodings", "none,basisnet", "--seeds", "1", "--epochs", "1", "--graphs", "60", "--test", "20", "-o", dir + "/count"])
        try run(["graphs", "properties", "--encodings", "eigen", "--seeds", "2", "--epochs", "1", "--graphs", "50", "--test", "10", "-o", dir + "/props"])
        for sub in ["csl", "count", "props"] {
            #expect(FileManager.default.fileExists(atPath: "\(dir)/\(sub)/results.json") && FileManager.default.fileExists(atPath: "\(dir)/\(sub)/table.md"))
        }
        let table = try String(contentsOfFile: dir + "/count/table.md", encoding: .utf8)
        #expect(table.contains("triangles (MAE/σ)") && table.contains("| basisnet |"))
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/props/results.json"))
        try run(["graphs", "properties", "--encodings", "eigen", "--seeds", "2", "--epochs", "1", "--graphs", "50", "--test", "10", "--resume", "-o", dir + "/props"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/props/results.json")) == before, "resume must not redo finished runs")
        #expect { try run(["graphs", "zinc", "--data", dir + "/missing.csv", "-o", dir + "/z"]) } throws: { "\($0)".contains("missing.csv") }
        #expect(throws: (any Error).self) { try run(["graphs", "csl", "--encodings", "bogus", "-o", dir + "/x"]) }
        #expect(throws: (any Error).self) { try run(["graphs", "count", "--graphs", "10", "--test", "10", "-o", dir + "/x"]) }
    }

    /// Shards (as Slurm array tasks run them) then `graphs merge` give the serial run's results;
    /// a shard run again skips its finished runs; resuming with other settings is refused.
    @Test func shardsMergeToTheSerialRun() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let args = ["graphs", "csl", "--encodings", "none,signnet", "--seeds", "2", "--epochs", "2", "-k", "4"]
        try run(args + ["-o", dir + "/serial"])
        for i in 0..<3 { try run(args + ["--shard", "\(i)/3", "-o", dir + "/sharded"]) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/sharded/table.md"), "a shard does not write the table")
        let runFile = dir + "/sharded/runs/signnet-seed1.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: runFile))
        try run(args + ["--shard", "1/3", "-o", dir + "/sharded"])  // done: skipped, the file untouched
        #expect(try Data(contentsOf: URL(fileURLWithPath: runFile)) == before)
        try run(["graphs", "merge", dir + "/sharded"])
        func numbers(_ path: String) throws -> [[String: String]] {
            let rows = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/results.json"))) as! [[String: Any]]
            return rows.map { r in r.filter { $0.key != "secondsPerEpoch" }.mapValues { "\($0)" } }
        }
        #expect(try numbers(dir + "/serial") == numbers(dir + "/sharded"))
        #expect(try numbers(dir + "/serial").count == 4)
        let table = try String(contentsOfFile: dir + "/sharded/table.md", encoding: .utf8)
        #expect(table.contains("| signnet |") && table.contains("OpenBLAS kernel family"))
        #expect { try run(args + ["--lr", "1e-2", "--resume", "--encodings", "eigen", "-o", dir + "/serial"]) } throws: { "\($0)".contains("other settings") }
        #expect { try run(["graphs", "merge", dir + "/nothing"]) } throws: { "\($0)".contains("experiment.json") }
        // a seed count from the file is range-checked before it sizes anything
        let info = dir + "/sharded/experiment.json"
        let text = try String(contentsOfFile: info, encoding: .utf8)
        try text.replacingOccurrences(of: "\"seeds\" : 2", with: "\"seeds\" : -3").write(toFile: info, atomically: true, encoding: .utf8)
        #expect { try run(["graphs", "merge", dir + "/sharded"]) } throws: { "\($0)".contains("-3 seeds") }
        try text.replacingOccurrences(of: "\"csl\"", with: "\"bogus\"").write(toFile: info, atomically: true, encoding: .utf8)
        #expect { try run(["graphs", "merge", dir + "/sharded"]) } throws: { "\($0)".contains("experiment.json") }
    }
}

@Suite struct DynamicsCLITests {
    /// A sweep with several seeds per point: the merged table gains the over-seeds summary (means
    /// with 95 % intervals) and the per-seed rank correlation of mixing time and β̂.
    @Test func sweepWithSeedsSummarises() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["dynamics", "sweep", "--train-count", "60", "--test-count", "30", "--hidden", "8", "--epochs", "12", "--burn-in", "4",
                 "--noise", "0,0.2,0.4", "--lrs", "0.1", "--perturbations", "1", "--seeds", "2", "--out", dir])
        let table = try String(contentsOfFile: dir + "/table.md", encoding: .utf8)
        #expect(table.contains("Over seeds"))
        #expect(table.contains("| 20% | 0.1 | 2 |"), "\(table)")
        #expect(table.contains(" ± "))
    }
}
