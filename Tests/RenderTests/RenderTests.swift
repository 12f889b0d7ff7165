import Support
import Foundation
import Geometry
import Imaging
import Render
import Testing

@Suite struct RenderTests {
    /// The BVH finds the same first hit as testing every triangle, on a jittered sphere and on a
    /// soup of random, overlapping triangles, for rays from outside and inside.
    @Test func bvhMatchesBruteForce() throws {
        var rng = SplitMix64(seed: 3)
        var soupPositions = [Double]()
        for _ in 0..<(9 * 600) { soupPositions.append(Double.random(in: -1...1, using: &rng)) }
        let soupTriangles: [Int32] = (0..<(3 * 600)).map { Int32($0) }
        var soup = Mesh(positions: soupPositions, triangles: soupTriangles)
        soup.positions += [0, 0, 0, 0, 0, 0, 0, 0, 0]  // and one zero-area triangle, never hit
        soup.triangles += [1800, 1801, 1802]
        for mesh in [Mesh.icosphere(subdivisions: 12, jitter: 0.3, seed: 5), soup] {
            let bvh = try BVH(mesh)
            var hits = 0
            for i in 0..<3000 {
                let o = i % 2 == 0 ? SIMD3<Float>((0..<3).map { _ in Float.random(in: -3...3, using: &rng) })
                                   : SIMD3<Float>((0..<3).map { _ in Float.random(in: -0.3...0.3, using: &rng) })
                var d = SIMD3<Float>((0..<3).map { _ in Float.random(in: -1...1, using: &rng) })
                d /= (d * d).sum().squareRoot()
                let a = bvh.intersect(origin: o, direction: d), b = bvh.bruteForce(origin: o, direction: d)
                #expect((a == nil) == (b == nil), "ray \(i)")
                if let a, let b {
                    hits += 1
                    let (ta, tb) = (a.t, b.t)
                    #expect(ta == tb, "ray \(i)")
                    if a.face == b.face { #expect(a.b1 == b.b1 && a.b2 == b.b2) }
                    #expect(a.face != 600)
                }
            }
            #expect(hits > 1000)
        }
    }

    /// G-buffer barycentrics reproduce the hit point o + t·d, and every hit pixel projects back
    /// onto itself through the camera.
    @Test func gbufferReproducesHitPoints() throws {
        let mesh = Mesh.icosphere(subdivisions: 8, jitter: 0.2, seed: 1)
        let bvh = try BVH(mesh)
        let cam = ViewSet.cameras(for: mesh, directions: ViewSet.spread(count: 3, seed: 2), width: 64, height: 48)[1]
        let g = RayCaster.gbuffer(bvh, camera: cam)
        #expect(g.hitCount > 600 && g.hitCount < 64 * 48)
        let eye = SIMD3(cam.center[0], cam.center[1], cam.center[2])
        var worst = 0.0
        for r in 0..<48 { for c in 0..<64 {
            let i = r * 64 + c
            guard g.face[i] >= 0 else { #expect(g.depth[i] == .infinity); continue }
            let (a, b, cc) = mesh.triangle(Int(g.face[i]))
            let p = Double(g.barycentric[3 * i]) * mesh.position(a) + Double(g.barycentric[3 * i + 1]) * mesh.position(b)
                + Double(g.barycentric[3 * i + 2]) * mesh.position(cc)
            let q = eye + Double(g.depth[i]) * cam.direction(u: Double(c) + 0.5, v: Double(r) + 0.5)
            let e = p - q
            worst = max(worst, (e * e).sum().squareRoot())
            let (u, v, z) = cam.project(p)
            #expect(abs(u - (Double(c) + 0.5)) < 1e-3 && abs(v - (Double(r) + 0.5)) < 1e-3 && z > 0)
            #expect(g.barycentric[3 * i] >= -1e-5 && g.barycentric[3 * i + 1] >= -1e-5 && g.barycentric[3 * i + 2] >= -1e-5)
        } }
        #expect(worst < 1e-5, "hit point off by \(worst)")
    }

    /// OpenCV orientation: looking down −z from +z with y up, world +x is to the right of the
    /// image and world +y is up (smaller rows).
    @Test func cameraConvention() {
        let cam = Camera(width: 100, height: 80, fovY: 1.0, eye: SIMD3(0, 0, 5), target: SIMD3(0, 0, 0))
        let right = cam.project(SIMD3(1, 0, 0)), up = cam.project(SIMD3(0, 1, 0)), centre = cam.project(SIMD3(0, 0, 0))
        #expect(abs(centre.u - 50) < 1e-9 && abs(centre.v - 40) < 1e-9 && abs(centre.depth - 5) < 1e-12)
        #expect(right.u > 50 && abs(right.v - 40) < 1e-9)
        #expect(up.v < 40 && abs(up.u - 50) < 1e-9)
        let d = cam.direction(u: 50, v: 40)
        #expect(abs(d.z + 1) < 1e-12)
    }

    /// The textured ground truth of a flat, textured square seen head-on reproduces the texture;
    /// the background is white; views are the same for the same seed.
    @Test func texturedSquare() throws {
        // The unit square in the z = 0 plane, UV = (x, y); a 2×2 texture: red, green / blue, white.
        var mesh = Mesh.grid(cells: 4)
        let tex = Image(width: 2, height: 2, channels: 3, pixels: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1])
        #expect(mesh.hasTexcoords)
        let cam = Camera(width: 40, height: 40, fovY: 0.5, eye: SIMD3(0.5, 0.5, 3), target: SIMD3(0.5, 0.5, 0))
        let g = RayCaster.gbuffer(try BVH(mesh), camera: cam)
        let img = try RayCaster.texturedImage(g, mesh: mesh, texture: tex)
        #expect(Array(img.pixels[0..<3]) == [1, 1, 1])  // a corner of the view: background
        // Pixel at the square's centre: bilinear mix of all four texels.
        let centre = 3 * (20 * 40 + 20)
        let expected: [Float] = [0.5, 0.5, 0.5]
        for c in 0..<3 { #expect(abs(img.pixels[centre + c] - expected[c]) < 0.08) }
        mesh.cornerTexcoords = []
        #expect(throws: RenderError.self) { _ = try RayCaster.texturedImage(g, mesh: mesh, texture: tex) }
        #expect(throws: RenderError.emptyMesh) { _ = try BVH(Mesh(positions: [], triangles: [])) }
        let a = ProtocolViews(mesh: Mesh.icosphere(subdivisions: 2), seed: 4), b = ProtocolViews(mesh: Mesh.icosphere(subdivisions: 2), seed: 4)
        #expect(a.train == b.train && a.test == b.test && a.test.count == 20 && a.train.count == 5)
        #expect(a.validation != a.test.prefix(3).map { $0 })
    }

    /// Subdivision keeps the surface (area, UV area) and connects the pieces.
    @Test func subdivision() {
        let t = Mesh.torus(segments: 12, rings: 6)
        let s = t.subdivided()
        #expect(s.triangleCount == 4 * t.triangleCount && s.hasTexcoords)
        let area = { (m: Mesh) in (0..<m.triangleCount).reduce(0.0) { $0 + m.triangleArea($1) } }
        #expect(abs(area(s) - area(t)) < 1e-9 * area(t))
        #expect(s.vertexCount == t.vertexCount + 3 * t.triangleCount / 2)  // one new vertex per edge (closed mesh)
    }
}

@Suite struct ClosestPointTests {
    /// Closest points from the hierarchy equal brute force (triangle, weights, distance) for
    /// points near, on, inside and far from a jittered sphere and a torus knot; the weights give
    /// back the point at that distance; many queries at once give the same as one at a time.
    @Test func equalsBruteForce() throws {
        for mesh in [Mesh.icosphere(subdivisions: 6, jitter: 0.3, seed: 2), Mesh.torusKnot(segments: 64, sides: 8)] {
            let bvh = try BVH(mesh)
            var rng = SystemRandomNumberGenerator()
            var queries = [Double]()
            for _ in 0..<400 { for _ in 0..<3 { queries.append(Double.random(in: -2...2, using: &rng)) } }
            queries += Array(mesh.positions.prefix(60))  // on vertices
            let many = bvh.closestPoints(queries)
            for i in 0..<(queries.count / 3) {
                let q = SIMD3<Float>(Float(queries[3 * i]), Float(queries[3 * i + 1]), Float(queries[3 * i + 2]))
                let a = try #require(bvh.closestPoint(to: q)), b = try #require(bvh.bruteForceClosest(to: q))
                #expect(abs(a.distance - b.distance) <= 1e-6 * max(1, b.distance), "query \(i)")
                #expect(Int(many.faces[i]) == a.face && many.distances[i] == a.distance)
                let t = mesh.triangles[(3 * a.face)..<(3 * a.face + 3)].map { Int($0) }
                var p = SIMD3<Double>(0, 0, 0)
                for (k, w) in [1 - a.b1 - a.b2, a.b1, a.b2].enumerated() {
                    #expect(w >= -1e-6 && w <= 1 + 1e-6)
                    p += Double(w) * mesh.position(t[k])
                }
                let d = p - SIMD3<Double>(queries[3 * i], queries[3 * i + 1], queries[3 * i + 2])
                #expect(abs((d * d).sum().squareRoot() - Double(a.distance)) < 1e-5)
            }
            #expect(bvh.closestPoint(to: SIMD3(9, 9, 9), maxDistance: 0.5) == nil)
        }
    }
}

@Suite struct DecimationTests {
    /// A jittered sphere of 3,842 vertices to 500: the count is met, the result is a closed
    /// manifold of genus 0, and its Hausdorff distance to the input is below 2 % of the radius.
    @Test func sphereToTarget() throws {
        let mesh = Mesh.icosphere(subdivisions: 20, jitter: 0.3, seed: 5)
        let (d, report) = try mesh.decimated(toVertices: 500)
        #expect(d.vertexCount == 500 && !report.stopped && report.fixedVertices == 0)
        let r = d.report()
        #expect(r.nonManifoldEdges == 0 && r.nonManifoldVertices == 0 && r.boundaryEdges == 0 && r.eulerCharacteristic == 2 && r.degenerateFaces == 0)
        let h = try SurfaceDistance.hausdorff(mesh, d, samples: 20_000)
        #expect(h.max < 0.02, "Hausdorff \(h.max)")
    }

    /// Boundary vertices stay, in place; an open surface keeps its boundary loop.
    @Test func boundaryKept() throws {
        var grid = Mesh.grid(cells: 30)
        for i in 0..<grid.vertexCount { let p = grid.position(i); grid.positions[3 * i + 2] = 0.1 * sin(6 * p.x) * cos(5 * p.y) }
        let (d, _) = try grid.decimated(toVertices: 200)
        #expect(d.vertexCount == 200)
        let before = grid.report(), after = d.report()
        #expect(after.boundaryLoops == before.boundaryLoops && after.boundaryEdges == before.boundaryEdges && after.nonManifoldEdges == 0)
        var kept = Set<[Double]>()
        for i in 0..<d.vertexCount { kept.insert([d.positions[3 * i], d.positions[3 * i + 1], d.positions[3 * i + 2]]) }
        for i in 0..<grid.vertexCount where grid.positions[3 * i] == 0 || grid.positions[3 * i] == 1 || grid.positions[3 * i + 1] == 0 || grid.positions[3 * i + 1] == 1 {
            #expect(kept.contains([grid.positions[3 * i], grid.positions[3 * i + 1], grid.positions[3 * i + 2]]))
        }
    }

    /// With texture coordinates the seams stay and every corner keeps its vertex's own
    /// coordinate from the input (half-edge collapses move nothing); a target below the fixed
    /// vertices stops early and says so.
    @Test func seamsAndTexcoordsKept() throws {
        let torus = Mesh.torus(segments: 48, rings: 24)
        let (d, report) = try torus.decimated(toVertices: 400)
        #expect(d.vertexCount == 400 && d.hasTexcoords && report.fixedVertices > 0)
        var uvAt = [[Double]: Set<[Double]>]()
        for f in 0..<torus.triangleCount { for c in 0..<3 {
            let v = Int(torus.triangles[3 * f + c]), t = Int(torus.cornerTexcoords[3 * f + c])
            uvAt[[torus.positions[3 * v], torus.positions[3 * v + 1], torus.positions[3 * v + 2]], default: []].insert([torus.texcoords[2 * t], torus.texcoords[2 * t + 1]])
        } }
        for f in 0..<d.triangleCount { for c in 0..<3 {
            let v = Int(d.triangles[3 * f + c]), t = Int(d.cornerTexcoords[3 * f + c])
            let uvs = uvAt[[d.positions[3 * v], d.positions[3 * v + 1], d.positions[3 * v + 2]]]
            #expect(uvs?.contains([d.texcoords[2 * t], d.texcoords[2 * t + 1]]) == true)
        } }
        let (_, stuck) = try torus.decimated(toVertices: 10)
        #expect(stuck.stopped)
    }
}

@Suite struct SamplingTests {
    /// Area-uniform samples lie on the surface, their faces and weights give them back, the
    /// share falling on half of a 1 : 3 rectangle follows the area, and the seed fixes them;
    /// Poisson-disk samples keep their points apart.
    @Test func uniformAndPoisson() throws {
        let m = Mesh(positions: [0, 0, 0, 3, 0, 0, 3, 1, 0, 0, 1, 0], triangles: [0, 1, 2, 0, 2, 3])
        let s = try m.sample(count: 20_000, seed: 3)
        #expect(s.count == 20_000)
        var left = 0
        for i in 0..<s.count {
            let t = Int(s.faces[i])
            var p = SIMD3<Double>(0, 0, 0)
            for k in 0..<3 { p += s.weights[3 * i + k] * m.position(Int(m.triangles[3 * t + k])) }
            #expect(abs(p.x - s.points[3 * i]) < 1e-12 && abs(p.y - s.points[3 * i + 1]) < 1e-12 && s.points[3 * i + 2] == 0)
            if s.points[3 * i] < 1 { left += 1 }
        }
        #expect(abs(Double(left) / 20_000 - 1.0 / 3) < 0.015)
        #expect(try m.sample(count: 100, seed: 3).points == m.sample(count: 100, seed: 3).points)
        let sphere = Mesh.icosphere(subdivisions: 12)
        func minDistance(_ p: [Double]) -> Double {
            let tree = KDTree(points: p)
            var best = Double.infinity
            for i in 0..<(p.count / 3) {
                let j = tree.nearest(to: SIMD3(p[3 * i], p[3 * i + 1], p[3 * i + 2]), k: 1, excluding: i)[0]
                let d = SIMD3(p[3 * i] - p[3 * j], p[3 * i + 1] - p[3 * j + 1], p[3 * i + 2] - p[3 * j + 2])
                best = min(best, (d * d).sum().squareRoot())
            }
            return best
        }
        let uniform = try sphere.sample(count: 2000, seed: 1), blue = try sphere.sample(count: 2000, seed: 1, poissonDisk: true)
        #expect(blue.count == 2000)
        let spacing = (4 * Double.pi / 2000).squareRoot()
        #expect(minDistance(blue.points) > 0.4 * spacing && minDistance(uniform.points) < 0.1 * spacing,
                "\(minDistance(blue.points)) vs \(minDistance(uniform.points)), spacing \(spacing)")
        #expect(throws: MeshError.self) { _ = try sphere.sample(count: 0) }
    }
}

@Suite struct RemeshTests {
    /// A jittered sphere remeshed to h = 0.1: a closed genus-0 manifold whose edges lie within
    /// [4/5 h, 4/3 h] (98 % at least; 99.3 % when written), mostly of valence 6, within 1 % of the
    /// radius of the input; an open bumpy grid keeps its boundary loop and boundary vertices.
    @Test func sphereAndOpenGrid() throws {
        let mesh = Mesh.icosphere(subdivisions: 12, jitter: 0.4, seed: 3)
        let projection = try SurfaceProjection(mesh)
        let r = try mesh.remeshed(edgeLength: 0.1, project: projection.project)
        let rep = r.report()
        #expect(rep.nonManifoldEdges == 0 && rep.boundaryEdges == 0 && rep.eulerCharacteristic == 2 && rep.degenerateFaces == 0)
        var lengths = [Double](), valence = [Int](repeating: 0, count: r.vertexCount)
        var seen = Set<[Int32]>()
        for f in 0..<r.triangleCount { for c in 0..<3 {
            let a = r.triangles[3 * f + c], b = r.triangles[3 * f + (c + 1) % 3]
            guard seen.insert([min(a, b), max(a, b)]).inserted else { continue }
            let d = r.position(Int(a)) - r.position(Int(b))
            lengths.append((d * d).sum().squareRoot()); valence[Int(a)] += 1; valence[Int(b)] += 1
        } }
        let inside = lengths.filter { $0 >= 0.08 && $0 <= 0.4 / 3 }.count
        #expect(Double(inside) / Double(lengths.count) > 0.98)
        #expect(Double(valence.filter { $0 == 6 }.count) / Double(r.vertexCount) > 0.85)
        #expect(try SurfaceDistance.hausdorff(mesh, r, samples: 20_000).max < 0.01)

        var grid = Mesh.grid(cells: 20)
        for i in 0..<grid.vertexCount { let p = grid.position(i); grid.positions[3 * i + 2] = 0.05 * sin(5 * p.x) }
        let g = try grid.remeshed(edgeLength: 0.03, project: try SurfaceProjection(grid).project)
        let gr = g.report()
        #expect(gr.boundaryLoops == 1 && gr.nonManifoldEdges == 0 && g.vertexCount > grid.vertexCount)
        #expect(throws: MeshError.self) { _ = try grid.remeshed(edgeLength: 1e-6) }
    }
}
