/*
 * libvessel-client.so: the vessel CLI's connection to the daemon's Unix socket, through JNI.
 *
 * Why not the JDK's SocketChannel or FFM, which the rest of Vessel uses: the CLI is a short-lived
 * JVM whose start-up is the command's cost. Opening a Unix-domain SocketChannel initialises the
 * JDK's security providers (sun.nio.ch.UnixDomainSockets seeds a SecureRandom for temporary socket
 * names) and scans the class path for SelectorProvider services: about 35 ms here, a third of a
 * `vessel version`. FFM's first downcalls spin their method handles and classes at run time, which
 * costs more still. Two JNI functions cost nothing measurable. The streams over the socket are the
 * JDK's own FileInputStream and FileOutputStream on the FileDescriptor made here.
 *
 * No policy: connect a stream socket to a path, shut a socket down. Errors are IOExceptions that
 * name the call, the path and errno's text.
 */
#include <jni.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void throw_io(JNIEnv *env, const char *call, const char *path, int err) {
    char msg[sizeof(((struct sockaddr_un *)0)->sun_path) + 128];
    if (path)
        snprintf(msg, sizeof msg, "%s(%s): %s", call, path, strerror(err));
    else
        snprintf(msg, sizeof msg, "%s: %s", call, strerror(err));
    jclass ioe = (*env)->FindClass(env, "java/io/IOException");
    if (ioe)
        (*env)->ThrowNew(env, ioe, msg);
}

static jfieldID fd_field(JNIEnv *env) {
    jclass c = (*env)->FindClass(env, "java/io/FileDescriptor");
    return c ? (*env)->GetFieldID(env, c, "fd", "I") : NULL;
}

/* FileDescriptor connect(byte[] path): a connected AF_UNIX stream socket, close-on-exec. */
JNIEXPORT jobject JNICALL Java_io_vessel_cli_client_NativeConnection_connect(JNIEnv *env, jclass cls, jbyteArray path) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    jsize n = (*env)->GetArrayLength(env, path);
    if (n <= 0 || (size_t)n >= sizeof sa.sun_path) {
        throw_io(env, "connect", "socket path", ENAMETOOLONG);
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, path, 0, n, (jbyte *)sa.sun_path);
    if (memchr(sa.sun_path, 0, (size_t)n)) {
        throw_io(env, "connect", "socket path with a NUL byte", EINVAL);
        return NULL;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_io(env, "socket", NULL, errno);
        return NULL;
    }
    int r;
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int err = errno;
        close(fd);
        throw_io(env, "connect", sa.sun_path, err);
        return NULL;
    }
    jclass c = (*env)->FindClass(env, "java/io/FileDescriptor");
    jmethodID init = c ? (*env)->GetMethodID(env, c, "<init>", "()V") : NULL;
    jfieldID field = fd_field(env);
    jobject o = init && field ? (*env)->NewObject(env, c, init) : NULL;
    if (!o) {
        close(fd);
        return NULL; /* an exception is pending */
    }
    (*env)->SetIntField(env, o, field, fd);
    return o;
}

/* void shutdown(FileDescriptor fd, int how): SHUT_WR ends the daemon's input; SHUT_RDWR wakes a reader. */
JNIEXPORT void JNICALL Java_io_vessel_cli_client_NativeConnection_shutdown(JNIEnv *env, jclass cls, jobject fdo, jint how) {
    jfieldID field = fd_field(env);
    if (!field)
        return;
    int fd = (*env)->GetIntField(env, fdo, field);
    if (fd < 0)
        return; /* closed already */
    if (shutdown(fd, how) < 0 && errno != ENOTCONN)
        throw_io(env, "shutdown", NULL, errno);
}
