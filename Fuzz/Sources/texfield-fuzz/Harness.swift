import Dynamics
import Foundation
import Geometry
import GraphLearning
import Imaging
import Neural
import Render
import Spectral
import Support
import TextureField

// Each harness feeds one input to one reader. A thrown error is the expected outcome for
// malformed input; a crash, a trap, a sanitizer report, a timeout or an out-of-memory is a bug.
// Readers that take a path get the input written to a scratch file first.

nonisolated(unsafe) var target = "obj"
nonisolated(unsafe) var scratch = ""

func scratchFile(_ data: Data, _ name: String) -> String {
    let path = scratch + "/" + name
    FileManager.default.createFile(atPath: path, contents: data)
    return path
}

/// The readers, by name (TEXFIELD_FUZZ_TARGET).
let harnesses: [String: @Sendable (Data) -> Void] = [
    "obj": { d in
        guard let m = try? Mesh.parseOBJ(d, path: "fuzz.obj") else { return }
        _ = m.report()  // the checks run on whatever parsed
    },
    "mtl": { d in
        // An OBJ naming the fuzzed material library, read from disk.
        _ = scratchFile(d, "fuzz.mtl")
        let obj = scratchFile(Data("mtllib fuzz.mtl\nusemtl a\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".utf8), "fuzz.obj")
        _ = try? Mesh.readOBJ(path: obj)
    },
    "png": { d in _ = try? Image.decodePNG(d, path: "fuzz.png") },
    "ply": { d in
        guard let m = try? Mesh.parsePLY(d, path: "fuzz.ply", facesRequired: false), !m.triangles.isEmpty else { return }
        _ = m.report()
    },
    "xyz": { d in
        // A cloud from text; small ones go through the local triangulations.
        guard let pts = try? PointCloudFile.read(path: scratchFile(d, "fuzz.xyz")), pts.count <= 3 * 400 else { return }
        _ = try? PointCloudLaplacian.localTriangles(points: pts, neighbors: 8)
    },
    "robust": { d in
        // Any connectivity an OBJ can state, through both intrinsic Laplacians.
        guard let m = try? Mesh.parseOBJ(d, path: "fuzz.obj"), m.vertexCount <= 300, m.triangleCount <= 600 else { return }
        _ = try? CotanOperators(mesh: m, mass: .barycentric, laplacian: .robust)
        _ = try? CotanOperators(mesh: m, mass: .voronoi, laplacian: .intrinsicDelaunay, mollifyFactor: 0)
    },
    "safetensors": { d in
        guard let (tensors, _) = try? Safetensors.decode(d, path: "fuzz.safetensors") else { return }
        var rng = SplitMix64(seed: 1)
        let net = FieldMLP(inputs: 4, width: 8, batch: 4, using: &rng)
        try? net.load(tensors)
    },
    "checkpoint": { d in
        // A fit checkpoint's metadata: configuration and training state, as `--resume` reads them.
        _ = try? FieldCheckpoint.configuration(at: scratchFile(d, "fuzz.safetensors"))
        _ = try? TexfieldJSON.decoder().decode(TrainingState.self, from: d)
    },
    "npy": { d in _ = try? NPY.decode(d, path: "fuzz.npy") },
    "eigencache": { d in
        // A cache entry whose eigenvalues.npy is the input (the other files valid).
        let mesh = Mesh.icosphere(subdivisions: 1)
        let options = EigenOptions(k: 3)
        let cache = EigenCache(root: scratch + "/cache")
        let dir = scratch + "/cache/eigs/" + EigenCache.key(mesh: mesh, options: options)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/eigenvalues.npy", contents: d)
        for (name, shape) in [("eigenvectors", [mesh.vertexCount, 3]), ("mass", [mesh.vertexCount]), ("residuals", [3])] {
            try? NPY.write(path: dir + "/\(name).npy", shape: shape, values: [Double](repeating: 1, count: shape.reduce(1, *)))
        }
        FileManager.default.createFile(atPath: dir + "/meta.json", contents: Data(#"{"orthonormalityError": 0}"#.utf8))
        _ = cache.load(mesh: mesh, options: options)
    },
    "smiles": { d in
        guard let s = String(data: d, encoding: .utf8) else { return }
        _ = try? SMILES.graph(s)
    },
    "smiles-csv": { d in _ = try? SMILES.readCSV(path: scratchFile(d, "fuzz.csv")) },
    "csv": { d in _ = try? Dataset.csv(path: scratchFile(d, "fuzz.csv")) },
    "jsonl": { d in _ = try? Graph.readJSONLines(path: scratchFile(d, "fuzz.jsonl")) },
    "cameras": { d in _ = try? CameraFile.readFrames(path: scratchFile(d, "cameras.json")) },
    "run-json": { d in
        let dir = scratch + "/run"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/run.json", contents: d)
        _ = try? FieldRun(directory: dir).inputs()
        _ = try? TexfieldJSON.decoder().decode(FitMetrics.self, from: d)
        _ = try? TexfieldJSON.decoder().decode(EvaluationResult.self, from: d)
    },
]

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    target = ProcessInfo.processInfo.environment["TEXFIELD_FUZZ_TARGET"] ?? "obj"
    guard harnesses[target] != nil else {
        FileHandle.standardError.write(Data("unknown TEXFIELD_FUZZ_TARGET \(target); one of \(harnesses.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("texfield-fuzz-\(target)-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    harnesses[target]!(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; here it hands over to
// libFuzzer's driver (libFuzzer's own `main` is not used).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("texfield_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { bytes, n in testOneInput(bytes, n) }
}
