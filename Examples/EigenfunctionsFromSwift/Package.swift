// swift-tools-version: 6.0
import PackageDescription

// A separate package that uses texfield's eigenfunction module the way another project would:
// by path, through the library products Geometry and Spectral. CI builds and runs it.
let package = Package(
    name: "EigenfunctionsFromSwift",
    dependencies: [
        .package(name: "texfield", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "eigenfunctions",
            dependencies: [
                .product(name: "Geometry", package: "texfield"),
                .product(name: "Spectral", package: "texfield"),
            ]),
    ]
)
