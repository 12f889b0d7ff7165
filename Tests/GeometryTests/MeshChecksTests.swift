import Testing

import Geometry

private func mesh(_ p: [Double], _ t: [Int32]) -> Mesh { Mesh(positions: p, triangles: t) }

private let cube = mesh(
    [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1],
    [0, 2, 1, 0, 3, 2, 4, 5, 6, 4, 6, 7, 0, 1, 5, 0, 5, 4, 2, 3, 7, 2, 7, 6, 1, 2, 6, 1, 6, 5, 0, 4, 7, 0, 7, 3])

@Suite struct MeshChecksTests {
    @Test func closedCube() {
        let r = cube.report()
        #expect(r.vertices == 8 && r.triangles == 12 && r.edges == 18)
        #expect(r.eulerCharacteristic == 2 && r.genus == 0)
        #expect(r.components == 1 && r.boundaryLoops == 0 && r.isClean)
        #expect(abs(r.surfaceArea - 6) < 1e-12)
        #expect(r.boundingBoxMin == [0, 0, 0] && r.boundingBoxMax == [1, 1, 1])
    }

    @Test func gridHasOneBoundaryLoop() {
        let r = Mesh.grid(cells: 4).report()
        #expect(r.boundaryLoops == 1 && r.boundaryEdges == 16 && r.genus == 0 && r.eulerCharacteristic == 1)
    }

    @Test func torusHasGenusOne() {
        let r = Mesh.torus(segments: 12, rings: 8).report()
        #expect(r.genus == 1 && r.eulerCharacteristic == 0 && r.isClean)
    }

    @Test func icosphereCounts() {
        for f in [1, 2, 5, 8] {
            let m = Mesh.icosphere(subdivisions: f, jitter: 0.3)
            #expect(m.vertexCount == 10 * f * f + 2)
            #expect(m.triangleCount == 20 * f * f)
            let r = m.report()
            #expect(r.genus == 0 && r.isClean)
            for i in 0..<m.vertexCount { #expect(abs((m.position(i) * m.position(i)).sum() - 1) < 1e-12) }
        }
    }

    @Test func defectsAreCounted() {
        // Two cubes apart: two components. Add a duplicate face, a degenerate face, an
        // unreferenced vertex, and a fin (non-manifold edge).
        var p = cube.positions + cube.positions.enumerated().map { $0.offset % 3 == 0 ? $0.element + 3 : $0.element }
        var t = cube.triangles + cube.triangles.map { $0 + 8 }
        t += [0, 2, 1]          // duplicate
        t += [0, 0, 1]          // degenerate (repeated vertex)
        p += [9, 9, 9]          // vertex 16: unreferenced
        p += [0.5, -1, 0]       // vertex 17: a fin on edge (0, 1)
        t += [0, 1, 17]
        let r = mesh(p, t).report()
        #expect(r.components == 2)
        #expect(r.duplicateFaces == 1)
        #expect(r.degenerateFaces == 1)
        #expect(r.unreferencedVertices == 1)
        #expect(r.nonManifoldEdges >= 1)
        #expect(r.genus == nil)
        #expect(!r.isClean)
    }

    @Test func bowtieVertexIsNonManifold() {
        // Two triangles touching only at vertex 0.
        let m = mesh([0, 0, 0, 1, 0, 0, 1, 1, 0, -1, 0, 0, -1, -1, 0], [0, 1, 2, 0, 3, 4])
        let r = m.report()
        #expect(r.nonManifoldVertices == 1 && r.nonManifoldEdges == 0)
    }

    @Test func collinearFaceIsDegenerate() {
        let m = mesh([0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0], [0, 1, 2, 0, 1, 3])
        #expect(m.isDegenerate(0) && !m.isDegenerate(1))
        #expect(m.report().degenerateFaces == 1)
    }
}

@Suite struct KnotAndScaleTests {
    /// The trefoil tube is a closed torus-like surface (one component, no boundary, genus 1) with
    /// texture coordinates on every corner; a flattened copy keeps the topology.
    @Test func trefoilTube() {
        let m = Mesh.torusKnot(p: 2, q: 3, tube: 0.12, segments: 120, sides: 12)
        let r = m.report()
        #expect(r.vertices == 1440 && r.triangles == 2880 && r.components == 1 && r.boundaryEdges == 0)
        #expect(r.genus == 1 && r.degenerateFaces == 0 && r.hasTexcoords)
        let flat = Mesh.torus().scaled(by: SIMD3(1, 1, 0.1))
        #expect(flat.report().genus == 1)
        let box = flat.boundingBox
        #expect(abs(box.max.z - 0.04) < 1e-12 && abs(box.max.x - 1.4) < 1e-12)
    }
}
