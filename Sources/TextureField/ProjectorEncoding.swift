import Foundation
import Geometry
import Spectral

/// The basis-invariant encoding `projector` (BasisNet's idea on a surface, Lim et al. 2023): the
/// selected eigenfunctions are grouped into near-repeated eigenspaces (consecutive eigenvalues
/// within a relative gap of `gap`), and a point p is described, per group V_g of size d, by the
/// projector entries ⟨V_g(p), V_g(q)⟩ against d landmark points q — the d of 16 farthest-point
/// landmarks on which the group is largest (‖V_g(q)‖ to 1e-6; ties by landmark order), in landmark order.
/// V_g V_gᵀ does not depend on the basis chosen inside the eigenspace, so the features are
/// invariant to any orthogonal change of basis inside each group (signs included) — what a
/// recomputed eigenbasis on another mesh brings — as long as the landmarks sit at the same places.
/// A group larger than 16 gets zeros in its remaining columns. The width stays k; each column is
/// then divided by its range (max − min), as the other encodings' inputs are.
public enum ProjectorFeatures {
    public static let landmarkCount = 16
    public static let defaultGap = 0.01

    /// Farthest-point landmarks: the vertex farthest from the centroid, then repeatedly the
    /// vertex farthest (Euclidean) from those chosen. Depends on the geometry only.
    public static func landmarks(_ mesh: Mesh, count: Int = landmarkCount) -> [Int] {
        let n = mesh.vertexCount
        guard n > 0 else { return [] }
        var centroid = SIMD3<Double>(0, 0, 0)
        for i in 0..<n { centroid += mesh.position(i) }
        centroid /= Double(n)
        var first = 0, far = -1.0
        for i in 0..<n { let d = mesh.position(i) - centroid; let l = (d * d).sum(); if l > far { far = l; first = i } }
        var chosen = [first]
        var dist = [Double](repeating: .infinity, count: n)
        while chosen.count < min(count, n) {
            let q = mesh.position(chosen.last!)
            var best = 0, bestD = -1.0
            for i in 0..<n {
                let d = mesh.position(i) - q
                dist[i] = min(dist[i], (d * d).sum())
                if dist[i] > bestD { bestD = dist[i]; best = i }
            }
            chosen.append(best)
        }
        return chosen
    }

    /// Groups of positions into `selected` (consecutive in the spectrum) whose eigenvalues lie
    /// within `gap` of each other, relative to the larger.
    public static func groups(values: [Double], selected: [Int], gap: Double = defaultGap) -> [[Int]] {
        var out = [[Int]]()
        for (pos, e) in selected.enumerated() {
            if let last = out.last?.last, selected[last] == e - 1,
               abs(values[e + 1] - values[selected[last] + 1]) <= gap * max(abs(values[e + 1]), 1e-300) {
                out[out.count - 1].append(pos)
            } else {
                out.append([pos])
            }
        }
        return out
    }

    /// The n × k feature table from `basis` (M-orthonormal, column 0 the constant; `selected`
    /// indexes the non-constant ones) and the landmark vertices of this mesh.
    public static func table(basis: Eigenbasis, selected: [Int], landmarks: [Int], gap: Double = defaultGap) -> [Float] {
        let n = basis.mass.count, kk = basis.count, k = selected.count
        var out = [Double](repeating: 0, count: n * k)
        for group in groups(values: basis.values, selected: selected, gap: gap) {
            let cols = group.map { selected[$0] + 1 }
            // The group's size at each landmark; the largest d, in landmark order.
            // Norms equal to 1e-6 of the largest count as ties (symmetric meshes have exact ones,
            // which rounding in another basis would break either way).
            let norms = landmarks.map { q in cols.reduce(0.0) { $0 + basis.vectors[q * kk + $1] * basis.vectors[q * kk + $1] } }
            let top = max(norms.max() ?? 0, 1e-300)
            let key = norms.map { ($0 / top * 1e6).rounded() }
            let order = landmarks.indices.sorted { key[$0] != key[$1] ? key[$0] > key[$1] : $0 < $1 }
            let use = Array(order.prefix(min(group.count, landmarks.count))).sorted()
            for (slot, li) in use.enumerated() {
                let q = landmarks[li], column = group[slot]
                let vq = cols.map { basis.vectors[q * kk + $0] }
                for i in 0..<n {
                    var s = 0.0
                    for (t, c) in cols.enumerated() { s += basis.vectors[i * kk + c] * vq[t] }
                    out[i * k + column] = s
                }
            }
        }
        var result = [Float](repeating: 0, count: n * k)
        for j in 0..<k {
            var lo = Double.infinity, hi = -Double.infinity
            for i in 0..<n { lo = min(lo, out[i * k + j]); hi = max(hi, out[i * k + j]) }
            let r = hi - lo > 0 ? hi - lo : 1
            for i in 0..<n { result[i * k + j] = Float(out[i * k + j] / r) }
        }
        return result
    }
}
