import Foundation
import Geometry
import Testing
import TextureField

@Suite struct EigenBandTests {
    /// Bands pick columns of the full eigenfunction matrix (and their eigenvalues, normalised by
    /// the largest computed) — nothing else changes; the network's input width is their count.
    @Test func bandsSelectColumns() throws {
        let mesh = Mesh.torus(segments: 24, rings: 12)
        var c = smallConfig(k: 20)
        let full = try FieldSurface(mesh: mesh, texture: texture(split: true), configuration: c, cache: nil)
        c.bands = [EigenBand(0, 3), EigenBand(10, 12)]
        try c.check()
        #expect(c.inputs == 7 && c.selectedEigenfunctions == [0, 1, 2, 3, 10, 11, 12])
        let some = try FieldSurface(mesh: mesh, texture: texture(split: true), configuration: c, cache: nil)
        #expect(some.data.k == 7)
        for i in [0, 17, mesh.vertexCount - 1] {
            for (j, e) in c.selectedEigenfunctions.enumerated() {
                #expect(some.data.phi[i * 7 + j] == full.data.phi[i * 20 + e])
            }
        }
        #expect(some.data.lambda == c.selectedEigenfunctions.map { full.data.lambda[$0] })
        let model = FieldModel(configuration: c, surface: some.data)
        #expect(model.mlp.inputs == 7)
    }

    @Test func bandsChecked() {
        #expect(EigenBand.parse("0-255,1793-2303,3840-4095") == EigenBand.published)
        #expect(EigenBand.published.map(\.count).reduce(0, +) == 1023)
        #expect(EigenBand.parse("7") == [EigenBand(7, 7)] && EigenBand.parse("a-3") == nil && EigenBand.parse("") == nil)
        var c = smallConfig(k: 20)
        for bad in [[EigenBand(0, 20)], [EigenBand(5, 3)], [EigenBand(0, 5), EigenBand(5, 8)], [EigenBand(6, 8), EigenBand(0, 2)], []] {
            c.bands = bad
            #expect(throws: FieldError.self) { try c.check() }
        }
    }
}
