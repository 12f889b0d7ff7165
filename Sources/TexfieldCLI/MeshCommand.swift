import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import Render
import Spectral
import TextureField

/// `texfield mesh …`: writes the meshes the project generates itself.
struct MeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh", abstract: "Generate and process meshes: icosphere, torus, grid, the demo set; subdivide, decimate, sample.",
        subcommands: [Icosphere.self, Torus.self, Grid.self, Subdivide.self, Decimate.self, Remesh.self, Sample.self, Deform.self, Demo.self])

    /// Writes a mesh by the output's extension (.ply or OBJ).
    static func write(_ m: Mesh, to path: String) throws {
        if (path as NSString).pathExtension.lowercased() == "ply" { try m.writePLY(path: path) } else { try m.writeOBJ(path: path) }
    }

    struct Decimate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reduce a mesh to --vertices by quadric-error edge collapses (Garland & Heckbert 1997).",
            discussion: "Boundary vertices and, when the mesh has texture coordinates, UV-seam vertices stay where they are; prints the Hausdorff distance to the input (sampled, 100,000 points each way).")
        @Argument(help: "Input mesh (OBJ or PLY).") var input: String
        @Option(help: "Target vertex count.") var vertices: Int
        @Flag(help: "Let boundary vertices move and go.") var freeBoundary = false
        @Flag(help: "Drop texture coordinates and let seam vertices move and go.") var ignoreSeams = false
        @Option(name: .shortAndLong, help: "Output mesh (.obj or .ply).") var out: String
        func validate() throws { try OptionLimits.check("--vertices", vertices, 4...100_000_000) }
        func run() throws {
            let m = try Mesh.read(path: input)
            let t0 = Date()
            let (d, report) = try m.decimated(toVertices: vertices, keepBoundary: !freeBoundary, keepSeams: !ignoreSeams)
            let seconds = Date().timeIntervalSince(t0)
            try MeshCommand.write(d, to: out)
            let (lo, hi) = m.boundingBox
            let diag = ((hi - lo) * (hi - lo)).sum().squareRoot()
            let h = try SurfaceDistance.hausdorff(m, d)
            print("\(out): \(d.vertexCount) vertices, \(d.triangleCount) triangles (from \(m.vertexCount)) in \(String(format: "%.2f", seconds)) s; "
                  + "Hausdorff \(String(format: "%.3g", h.max)) (\(String(format: "%.2e", h.max / diag)) of the bounding-box diagonal), mean \(String(format: "%.3g", h.mean))"
                  + (report.stopped ? "; stopped early: \(report.fixedVertices) vertices are fixed (boundary/seams) or every other collapse would fold the surface" : ""))
        }
    }

    struct Deform: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pose a mesh by As-Rigid-As-Possible deformation (Sorkine & Alexa 2007).",
            discussion: """
                --pose bend|twist: built-in handles on the bounding box (a: its longest axis, b: the middle one): the \
                vertices in the lowest 15 % along a stay, those in the highest 15 % turn rigidly by --angle — bend: \
                about the axis parallel to b through the box's centre (default 60°); twist: about the a axis through \
                the centre (default 90°). --pose FILE: one handle per line, "index x y z" (0-based vertex index and \
                its target; # starts a comment). Vertices, triangles and UVs are kept, so vertex i of the output is \
                vertex i of the input. Prints the metric distortion: the relative change of edge lengths (mean, \
                largest) and of the total area.
                """)
        @Argument(help: "Input mesh (OBJ or PLY).") var input: String
        @Option(help: "bend, twist, or a handle file.") var pose: String
        @Option(help: "Rotation of the moving handle in degrees (built-in poses; default 60 for bend, 90 for twist).") var angle: Double?
        @Option(help: "Local/global iterations.") var iterations = 30
        @Option(name: .shortAndLong, help: "Output mesh (.obj or .ply).") var out: String
        func validate() throws {
            try OptionLimits.check("--iterations", iterations, 1...10_000)
            if let angle { try OptionLimits.check("--angle", angle, -720...720) }
        }
        func run() throws {
            let m = try Mesh.read(path: input)
            let (handles, targets): ([Int], [SIMD3<Double>])
            if let builtin = DeformationPose(rawValue: pose) {
                (handles, targets) = builtin.handles(on: m, angle: angle)
            } else {
                (handles, targets) = try Self.readHandles(path: pose, vertexCount: m.vertexCount)
            }
            let t0 = Date()
            let (d, energy) = try ARAP.deform(m, handles: handles, targets: targets, iterations: iterations)
            let seconds = Date().timeIntervalSince(t0)
            try MeshCommand.write(d, to: out)
            let dist = try d.edgeLengthDistortion(from: m)
            print("\(out): \(handles.count) handle vertices of \(m.vertexCount), \(iterations) iterations in \(String(format: "%.2f", seconds)) s "
                  + "(energy \(String(format: "%.3g", energy.first ?? 0)) → \(String(format: "%.3g", energy.last ?? 0))); "
                  + "edge lengths change by \(String(format: "%.2f", 100 * dist.mean)) % on average, \(String(format: "%.1f", 100 * dist.max)) % at most; "
                  + "area by \(String(format: "%.2f", 100 * dist.area)) %")
        }

        /// Handle lines "index x y z" (0-based), each checked: the index in range and given once,
        /// the coordinates finite.
        static func readHandles(path: String, vertexCount n: Int) throws -> ([Int], [SIMD3<Double>]) {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandError("--pose \(path): neither bend, twist nor a readable handle file")
            }
            let text = String(decoding: try InputFile.read(path, limit: 256 << 20), as: UTF8.self)
            var handles = [Int](), targets = [SIMD3<Double>](), seen = Set<Int>()
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                if fields.isEmpty { continue }
                guard fields.count == 4, let i = Int(fields[0]), let x = Double(fields[1]), let y = Double(fields[2]), let z = Double(fields[3]),
                      x.isFinite, y.isFinite, z.isFinite else {
                    throw CommandError("\(path):\(number + 1): expected \"index x y z\" with finite numbers, got \"\(line)\"")
                }
                guard (0..<n).contains(i) else { throw CommandError("\(path):\(number + 1): vertex index \(i) is outside 0..<\(n)") }
                guard seen.insert(i).inserted else { throw CommandError("\(path):\(number + 1): vertex index \(i) is given twice") }
                handles.append(i); targets.append(SIMD3(x, y, z))
            }
            guard !handles.isEmpty else { throw CommandError("\(path): no handle lines (\"index x y z\")") }
            return (handles, targets)
        }
    }

    struct Remesh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Isotropic remeshing to a target edge length (Botsch & Kobbelt 2004), projected back onto the input.",
            discussion: "Boundary vertices stay; texture coordinates are not carried over. Prints the Hausdorff distance to the input.")
        @Argument(help: "Input mesh (OBJ or PLY).") var input: String
        @Option(help: "Target edge length (default: the input's mean edge length).") var edgeLength: Double?
        @Option(help: "Rounds of split, collapse, flip, relax, project.") var iterations = 10
        @Option(name: .shortAndLong, help: "Output mesh (.obj or .ply).") var out: String
        func validate() throws {
            try OptionLimits.check("--iterations", iterations, 1...100)
            if let h = edgeLength { guard h.isFinite && h > 0 else { throw ValidationError("--edge-length must be a positive number") } }
        }
        func run() throws {
            let m = try Mesh.read(path: input)
            let h = edgeLength ?? m.meanEdgeLength()
            let projection = try SurfaceProjection(m)
            let t0 = Date()
            let r = try m.remeshed(edgeLength: h, iterations: iterations, project: projection.project)
            let seconds = Date().timeIntervalSince(t0)
            try MeshCommand.write(r, to: out)
            let hd = try SurfaceDistance.hausdorff(m, r)
            print("\(out): \(r.vertexCount) vertices, \(r.triangleCount) triangles (edge length \(String(format: "%.4g", h))) in \(String(format: "%.2f", seconds)) s; Hausdorff \(String(format: "%.3g", hd.max)), mean \(String(format: "%.3g", hd.mean))")
        }
    }

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sample points on a mesh uniformly by area (seeded), optionally spread as Poisson-disk (blue noise).")
        @Argument(help: "Input mesh (OBJ or PLY).") var input: String
        @Option(help: "Number of points.") var points: Int
        @Option(help: "Seed.") var seed: UInt64 = 0
        @Flag(help: "Poisson-disk: thin 5× candidates by weighted sample elimination (Yuksel 2015).") var poisson = false
        @Option(name: .shortAndLong, help: "Output: .xyz (x y z per line) or .ply (vertices only).") var out: String
        func validate() throws { try OptionLimits.check("--points", points, 1...50_000_000) }
        func run() throws {
            let m = try Mesh.read(path: input)
            let s = try m.sample(count: points, seed: seed, poissonDisk: poisson)
            if (out as NSString).pathExtension.lowercased() == "ply" {
                try Mesh(positions: s.points, triangles: []).writePLY(path: out)
            } else {
                var text = ""
                text.reserveCapacity(s.count * 60)
                for i in 0..<s.count { text += "\(s.points[3 * i]) \(s.points[3 * i + 1]) \(s.points[3 * i + 2])\n" }
                try AtomicFile.write(Data(text.utf8), to: out)
            }
            print("\(out): \(s.count) points")
        }
    }

    struct Icosphere: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A geodesic unit sphere with 10 f² + 2 vertices, optionally jittered.")
        @Option(name: .shortAndLong, help: "Subdivisions f of each icosahedron edge.") var subdivisions: Int
        @Option(help: "Tangential jitter as a fraction of the mean edge length.") var jitter: Double = 0
        @Option(help: "Seed of the jitter.") var seed: UInt64 = 1
        @Option(name: .shortAndLong, help: "Output OBJ.") var out: String
        func validate() throws {
            guard (1...2000).contains(subdivisions) else { throw ValidationError("--subdivisions must be in 1...2000") }
            guard jitter >= 0, jitter < 1 else { throw ValidationError("--jitter must be in [0, 1)") }
        }
        func run() throws {
            try Mesh.icosphere(subdivisions: subdivisions, jitter: jitter, seed: seed).writeOBJ(path: out)
        }
    }

    struct Torus: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A torus with texture coordinates.")
        @Option var segments = 48
        @Option var rings = 24
        @Option(name: .shortAndLong, help: "Output OBJ.") var out: String
        func validate() throws { try OptionLimits.check("--segments", segments, 3...4096); try OptionLimits.check("--rings", rings, 3...4096) }
        func run() throws { try Mesh.torus(segments: segments, rings: rings).writeOBJ(path: out) }
    }

    struct Grid: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The unit square split into cells × cells × 2 triangles.")
        @Option var cells = 32
        @Option(name: .shortAndLong, help: "Output OBJ.") var out: String
        func validate() throws { try OptionLimits.check("--cells", cells, 1...4096) }
        func run() throws { try Mesh.grid(cells: cells).writeOBJ(path: out) }
    }

    struct Subdivide: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Split every triangle into four at its edge midpoints (UVs too), --times times.")
        @Argument(help: "Input OBJ.") var input: String
        @Option(help: "How many times.") var times = 1
        @Option(name: .shortAndLong, help: "Output OBJ.") var out: String
        func validate() throws { guard (1...6).contains(times) else { throw ValidationError("--times must be in 1...6") } }
        func run() throws {
            var m = try Mesh.read(path: input)
            for _ in 0..<times { m = m.subdivided() }
            try m.writeOBJ(path: out)
            print("\(out): \(m.vertexCount) vertices, \(m.triangleCount) triangles")
        }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the demo meshes of meshes/: a textured torus and a jittered icosphere.")
        @Option(name: .shortAndLong, help: "Output folder.") var out: String = "meshes"
        func run() throws {
            try makeOutputFolder(out)
            try DemoMeshes.write(to: out)
        }
    }
}

/// The demo set: generated, small, deterministic.
enum DemoMeshes {
    static func write(to dir: String) throws {
        let torus = Mesh.torus(segments: 64, rings: 32)
        try torus.writeOBJ(path: dir + "/torus.obj", materialLibrary: "torus.mtl")
        try AtomicFile.write(Data("# written by texfield\nnewmtl material\nKd 1 1 1\nmap_Kd torus.png\n".utf8),
                             to: dir + "/torus.mtl")
        try texture(size: 256).writePNG(path: dir + "/torus.png")
        try Mesh.icosphere(subdivisions: 8, jitter: 0.3, seed: 1).writeOBJ(path: dir + "/icosphere.obj")
    }

    /// The demo torus's texture: colourful, smoothly varying, a few sharp stripes.
    static func texture(size: Int) -> Image { BenchmarkSet.demoTexture(size: size) }
}
