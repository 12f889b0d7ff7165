import Support
import ArgumentParser
import Foundation
import Geometry
import Imaging
import TextureField

/// `texfield mesh …`: writes the meshes the project generates itself.
struct MeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh", abstract: "Generate meshes: icosphere, torus, grid, and the demo set.",
        subcommands: [Icosphere.self, Torus.self, Grid.self, Subdivide.self, Demo.self])

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
