/**
 * Compiles OCI seccomp profiles to classic BPF seccomp filters in pure Java; see
 * {@link io.vessel.runtime.seccomp.SeccompCompiler}.
 */
package io.vessel.runtime.seccomp;
