import Foundation
import Support

/// Points on a mesh's surface.
public struct SurfaceSample: Sendable {
    /// 3 coordinates per point.
    public var points: [Double]
    /// The triangle of each point and the barycentric weights of its 3 vertices.
    public var faces: [Int32]
    public var weights: [Double]
    public var count: Int { faces.count }
}

extension Mesh {
    /// `count` points distributed uniformly by area (seeded): a triangle with probability
    /// proportional to its area, then a uniform point in it (Osada et al. 2002's square-root rule).
    /// With `poissonDisk`, 5 × count uniform candidates are thinned to `count` by weighted sample
    /// elimination (Yuksel 2015), which spreads the points evenly (blue noise).
    public func sample(count: Int, seed: UInt64 = 0, poissonDisk: Bool = false) throws -> SurfaceSample {
        guard count >= 1 else { throw MeshError.invalid("a sample needs at least 1 point, got \(count)") }
        guard count <= 50_000_000 else { throw MeshError.invalid("\(count) points is more than the 50,000,000 a sample may have") }
        var cumulative = [Double]()
        cumulative.reserveCapacity(triangleCount)
        var total = 0.0
        for f in 0..<triangleCount { let a = triangleArea(f); total += a.isFinite ? a : 0; cumulative.append(total) }
        guard total > 0 else { throw MeshError.invalid("the mesh has no area to sample") }
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x5A3D)
        let candidates = poissonDisk ? 5 * count : count
        var out = SurfaceSample(points: [], faces: [], weights: [])
        out.points.reserveCapacity(3 * candidates); out.faces.reserveCapacity(candidates); out.weights.reserveCapacity(3 * candidates)
        for _ in 0..<candidates {
            let r = Double.random(in: 0..<total, using: &rng)
            var lo = 0, hi = triangleCount - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > r { hi = mid } else { lo = mid + 1 } }
            let s = Double.random(in: 0...1, using: &rng).squareRoot(), t = Double.random(in: 0...1, using: &rng)
            let w = [1 - s, s * (1 - t), s * t]
            var p = SIMD3<Double>(0, 0, 0)
            for k in 0..<3 { p += w[k] * position(Int(triangles[3 * lo + k])) }
            out.points += [p.x, p.y, p.z]; out.faces.append(Int32(lo)); out.weights += w
        }
        return poissonDisk ? Mesh.eliminate(out, to: count, area: total) : out
    }

    /// Weighted sample elimination: repeatedly drops the point whose neighbours within 2 r_max
    /// weigh most (w = Σ (1 − d / 2r_max)^8, r_max = √(A / (2√3 N)), the densest packing's radius).
    static func eliminate(_ s: SurfaceSample, to target: Int, area: Double) -> SurfaceSample {
        let n = s.count
        guard target < n else { return s }
        let rmax2 = 2 * (area / (2 * 3.0.squareRoot() * Double(target))).squareRoot()
        let tree = KDTree(points: s.points)
        let neighbours = tree.allNearest(k: 24)
        func point(_ i: Int) -> SIMD3<Double> { SIMD3(s.points[3 * i], s.points[3 * i + 1], s.points[3 * i + 2]) }
        func weight(_ i: Int, _ j: Int) -> Double {
            let d = point(i) - point(j), l = (d * d).sum().squareRoot()
            return l < rmax2 ? pow(1 - l / rmax2, 8) : 0
        }
        var w = [Double](repeating: 0, count: n)
        // Symmetric neighbour lists: j is a neighbour of i when either found the other.
        var adjacency = [[Int32]](repeating: [], count: n)
        for i in 0..<n { for j in neighbours[i] { adjacency[i].append(Int32(j)); adjacency[j].append(Int32(i)) } }
        for i in 0..<n {
            adjacency[i] = Array(Set(adjacency[i])).sorted()
            for j in adjacency[i] { w[i] += weight(i, Int(j)) }
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = Heap<(Double, Int32)> { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        for i in 0..<n { heap.push((w[i], Int32(i))) }
        var remaining = n
        while remaining > target, let (wi, i32) = heap.pop() {
            let i = Int(i32)
            guard alive[i], wi == w[i] else { continue }  // stale entry
            alive[i] = false
            remaining -= 1
            for j32 in adjacency[i] where alive[Int(j32)] {
                let j = Int(j32)
                w[j] -= weight(j, i)
                heap.push((w[j], j32))
            }
        }
        var out = SurfaceSample(points: [], faces: [], weights: [])
        for i in 0..<n where alive[i] {
            out.points += s.points[(3 * i)..<(3 * i + 3)]; out.faces.append(s.faces[i]); out.weights += s.weights[(3 * i)..<(3 * i + 3)]
        }
        return out
    }
}

/// A binary heap ordered by `above` (the top is the element above all others).
struct Heap<T> {
    var items: [T] = []
    let above: (T, T) -> Bool
    init(above: @escaping (T, T) -> Bool) { self.above = above }
    var isEmpty: Bool { items.isEmpty }
    mutating func push(_ x: T) {
        items.append(x)
        var i = items.count - 1
        while i > 0 && above(items[i], items[(i - 1) / 2]) { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
    }
    mutating func pop() -> T? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && above(items[l], items[m]) { m = l }
            if r < items.count && above(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m); i = m
        }
        return top
    }
}
