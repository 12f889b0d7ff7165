/* Eigen is header-only C++; this module only carries its pkg-config include path. */
