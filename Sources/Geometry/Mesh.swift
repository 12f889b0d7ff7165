/// A triangle mesh: vertex positions, triangles, and optional per-corner texture
/// coordinates and normals.
///
/// Storage is flat and contiguous so that it can be handed to C without copying:
/// `positions` holds `3 * vertexCount` doubles (x, y, z per vertex, in the order of the
/// OBJ's `v` lines), `triangles` holds `3 * triangleCount` zero-based vertex indices.
/// Texture coordinates are per corner: a UV seam does not split a vertex.
public struct Mesh: Sendable, Equatable {
    /// `3 * vertexCount` coordinates, row-major (x, y, z).
    public var positions: [Double]
    /// `3 * triangleCount` zero-based vertex indices, counter-clockwise as in the file.
    public var triangles: [Int32]
    /// `2 * texcoordCount` texture coordinates (u, v), `v` pointing up.
    public var texcoords: [Double]
    /// Per corner (`3 * triangleCount`): index into `texcoords`, or -1 where a face has none.
    public var cornerTexcoords: [Int32]
    /// `3 * normalCount` normals as given in the file.
    public var normals: [Double]
    /// Per corner: index into `normals`, or -1.
    public var cornerNormals: [Int32]
    /// Optional per-vertex colours (`3 * vertexCount`, in [0, 1]) from `v x y z r g b` lines.
    public var vertexColors: [Double]?
    /// The OBJ line each triangle came from (1-based), when read from a file.
    public var triangleLines: [Int32]
    /// Material libraries named by `mtllib`, as written in the file.
    public var materialLibraries: [String]
    /// The diffuse texture (`map_Kd`) of the first material, resolved against the OBJ's folder.
    public var diffuseTexturePath: String?

    /// A mesh from flat arrays: 3 coordinates per vertex, 3 zero-based vertex indices per triangle,
    /// 2 per texture coordinate, and per-corner indices into `texcoords` / `normals` (−1: none).
    /// Nothing is checked here; `report()` finds the defects, the operators refuse bad indices.
    public init(positions: [Double], triangles: [Int32], texcoords: [Double] = [],
                cornerTexcoords: [Int32] = [], normals: [Double] = [], cornerNormals: [Int32] = [],
                vertexColors: [Double]? = nil) {
        self.positions = positions
        self.triangles = triangles
        self.texcoords = texcoords
        self.cornerTexcoords = cornerTexcoords
        self.normals = normals
        self.cornerNormals = cornerNormals
        self.vertexColors = vertexColors
        self.triangleLines = []
        self.materialLibraries = []
        self.diffuseTexturePath = nil
    }

    /// Number of vertices, n. O(1).
    public var vertexCount: Int { positions.count / 3 }
    /// Number of triangles. O(1).
    public var triangleCount: Int { triangles.count / 3 }

    /// True when every corner of every triangle has a texture coordinate.
    public var hasTexcoords: Bool {
        !texcoords.isEmpty && cornerTexcoords.count == triangles.count && !cornerTexcoords.contains(-1)
    }

    /// Position of vertex `i`.
    @inlinable public func position(_ i: Int) -> SIMD3<Double> {
        SIMD3(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2])
    }

    /// Vertex indices of triangle `f`.
    @inlinable public func triangle(_ f: Int) -> (Int, Int, Int) {
        (Int(triangles[3 * f]), Int(triangles[3 * f + 1]), Int(triangles[3 * f + 2]))
    }

    /// The smallest and largest coordinates over all vertices (±infinity for an empty mesh). O(n).
    public var boundingBox: (min: SIMD3<Double>, max: SIMD3<Double>) {
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for i in 0..<vertexCount { let p = position(i); lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        return (lo, hi)
    }

    /// Area of triangle `f` (half the norm of the cross product).
    public func triangleArea(_ f: Int) -> Double {
        let (a, b, c) = triangle(f)
        let p = position(a), q = position(b), r = position(c)
        let u = q - p, v = r - p
        let x = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
        return 0.5 * (x * x).sum().squareRoot()
    }

    /// Returns the mesh with x, y and z multiplied by `s.x`, `s.y`, `s.z` (e.g. flattened).
    public func scaled(by s: SIMD3<Double>) -> Mesh {
        var m = self
        for i in 0..<vertexCount { m.positions[3 * i] *= s.x; m.positions[3 * i + 1] *= s.y; m.positions[3 * i + 2] *= s.z }
        return m
    }

    /// Returns the mesh with every position multiplied by `s`.
    public func scaled(by s: Double) -> Mesh {
        var m = self
        for i in m.positions.indices { m.positions[i] *= s }
        return m
    }
}

/// Errors of mesh reading, writing and checking. Every case names the file and, where
/// there is one, the line at fault.
public enum MeshError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// A line that does not parse, or an index out of range, with its line number.
    case malformed(path: String, line: Int, message: String)
    /// No vertices or no faces.
    case empty(path: String, message: String)
    /// A mesh that parsed but cannot be used (e.g. non-finite coordinates).
    case invalid(String)
    /// The output could not be written.
    case writeFailed(path: String, reason: String)

    /// The message, with the file and line where there is one.
    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .malformed(let p, let l, let m): return "\(p):\(l): \(m)"
        case .empty(let p, let m): return "\(p): \(m)"
        case .invalid(let m): return m
        case .writeFailed(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}
