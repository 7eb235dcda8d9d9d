package io.vessel.vmm.acpi;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A term of ACPI Machine Language, the byte code of the DSDT (ACPI 6.5, chapter 20): just what a
 * micro-VM's namespace needs to describe its devices — names bound to integers, strings,
 * buffers and packages, EISA IDs, methods that return a value, devices and scopes, and resource
 * templates. Each term encodes itself with {@link #encode}; {@link #bytes} gives its AML.
 *
 * <p>Build terms with the static factories ({@link #name}, {@link #device}, ...); they check
 * their arguments, so a term that exists encodes to valid AML.
 */
public sealed interface Aml {
    // Opcodes, ACPI 6.5 section 20.2.
    int NAME_OP = 0x08;
    int SCOPE_OP = 0x10;
    int BUFFER_OP = 0x11;
    int PACKAGE_OP = 0x12;
    int VAR_PACKAGE_OP = 0x13;
    int METHOD_OP = 0x14;
    int STRING_PREFIX = 0x0D;
    int RETURN_OP = 0xA4;
    int EXT_OP_PREFIX = 0x5B;
    int DEVICE_OP = 0x82; // after ExtOpPrefix

    void encode(LeBytes out);

    /** This term's AML bytes. */
    default byte[] bytes() {
        LeBytes out = new LeBytes();
        encode(out);
        return out.toArray();
    }

    /** An integer constant, shortest encoding; {@code value} is unsigned 64-bit. */
    static Aml integer(long value) {
        return new IntegerConst(value);
    }

    static Aml string(String value) {
        return new StringConst(value);
    }

    static Aml buffer(byte[] bytes) {
        return new BufferConst(bytes.clone());
    }

    static Aml pkg(Aml... elements) {
        return new PackageConst(List.of(elements));
    }

    /** A compressed EISA ID such as {@code "PNP0501"}: the integer ASL's {@code EISAID()} makes. */
    static Aml eisaId(String id) {
        return new EisaId(id);
    }

    /** {@code Name(name, value)}: binds {@code name} in the enclosing scope. */
    static Aml name(String name, Aml value) {
        return new Name(name, value);
    }

    /** {@code Return(value)}, for a method body. */
    static Aml ret(Aml value) {
        return new Return(value);
    }

    /** {@code Method(name, argCount, NotSerialized) { body }}. */
    static Aml method(String name, int argCount, Aml... body) {
        return new Method(name, argCount, false, List.of(body));
    }

    static Aml device(String name, Aml... body) {
        return new Device(name, List.of(body));
    }

    static Aml scope(String name, Aml... body) {
        return new Scope(name, List.of(body));
    }

    /** {@code ResourceTemplate() { ... }}: a buffer of resource descriptors closed by an end tag. */
    static Aml resources(AmlResource... descriptors) {
        return new ResourceTemplate(List.of(descriptors));
    }

    /** Writes {@code opcode PkgLength contents}, the shape of every AML package-like term. */
    private static void packaged(LeBytes out, int opcode, LeBytes contents) {
        out.u8(opcode).bytes(AmlEncoding.pkgLength(contents.size())).bytes(contents.toArray());
    }

    record IntegerConst(long value) implements Aml {
        @Override
        public void encode(LeBytes out) {
            AmlEncoding.integer(out, value);
        }
    }

    /** A String: ASCII 0x01-0x7F, NUL-terminated in AML. */
    record StringConst(String value) implements Aml {
        public StringConst {
            if (!value.chars().allMatch(c -> c >= 0x01 && c <= 0x7F)) {
                throw new IllegalArgumentException("AML string \"" + value + "\" must be ASCII without NUL");
            }
        }

        @Override
        public void encode(LeBytes out) {
            out.u8(STRING_PREFIX).bytes(value.getBytes(StandardCharsets.US_ASCII)).u8(0);
        }
    }

    /** {@code Buffer(size) { bytes }}: BufferOp PkgLength BufferSize ByteList. */
    record BufferConst(byte[] data) implements Aml {
        @Override
        public void encode(LeBytes out) {
            LeBytes body = new LeBytes();
            AmlEncoding.integer(body, data.length);
            body.bytes(data);
            packaged(out, BUFFER_OP, body);
        }
    }

    /** A Package; more than 255 elements take VarPackageOp, whose count is a term. */
    record PackageConst(List<Aml> elements) implements Aml {
        public PackageConst {
            elements = List.copyOf(elements);
        }

        @Override
        public void encode(LeBytes out) {
            LeBytes body = new LeBytes();
            boolean small = elements.size() <= 0xFF;
            if (small) {
                body.u8(elements.size());
            } else {
                AmlEncoding.integer(body, elements.size());
            }
            for (Aml e : elements) {
                e.encode(body);
            }
            packaged(out, small ? PACKAGE_OP : VAR_PACKAGE_OP, body);
        }
    }

    /**
     * A 7-character EISA ID (three letters A-Z, four hex digits) compressed into 32 bits: the
     * letters as 5-bit values (letter - 0x40) in a big-endian 16-bit word, then the product
     * number's two bytes, big-endian; the whole stored as an integer (ACPI 6.5, section 19.6.44).
     */
    record EisaId(String id) implements Aml {
        public EisaId {
            if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
                throw new IllegalArgumentException("EISA ID \"" + id + "\" must be three letters A-Z and four upper-case hex digits");
            }
        }

        public long value() {
            int vendor = ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
            int product = Integer.parseInt(id.substring(3), 16);
            // bytes in memory: vendor high, vendor low, product high, product low
            return ((vendor >>> 8) & 0xFF) | ((vendor & 0xFF) << 8) | (((product >>> 8) & 0xFF) << 16)
                    | ((long) (product & 0xFF) << 24);
        }

        @Override
        public void encode(LeBytes out) {
            AmlEncoding.integer(out, value());
        }
    }

    record Name(String name, Aml value) implements Aml {
        @Override
        public void encode(LeBytes out) {
            out.u8(NAME_OP);
            AmlEncoding.nameString(out, name);
            value.encode(out);
        }
    }

    record Return(Aml value) implements Aml {
        @Override
        public void encode(LeBytes out) {
            out.u8(RETURN_OP);
            value.encode(out);
        }
    }

    /** MethodOp PkgLength NameString MethodFlags TermList; flags: bits 0-2 argument count, bit 3 serialized. */
    record Method(String name, int argCount, boolean serialized, List<Aml> body) implements Aml {
        /** ACPI methods take at most seven arguments (Arg0-Arg6). */
        public static final int MAX_ARGS = 7;

        public Method {
            if (argCount < 0 || argCount > MAX_ARGS) {
                throw new IllegalArgumentException("method " + name + ": " + argCount + " arguments, AML allows 0 to " + MAX_ARGS);
            }
            body = List.copyOf(body);
        }

        @Override
        public void encode(LeBytes out) {
            LeBytes c = new LeBytes();
            AmlEncoding.nameString(c, name);
            c.u8(argCount | (serialized ? 1 << 3 : 0));
            for (Aml t : body) {
                t.encode(c);
            }
            packaged(out, METHOD_OP, c);
        }
    }

    /** ExtOpPrefix DeviceOp PkgLength NameString TermList. */
    record Device(String name, List<Aml> body) implements Aml {
        public Device {
            body = List.copyOf(body);
        }

        @Override
        public void encode(LeBytes out) {
            LeBytes c = new LeBytes();
            AmlEncoding.nameString(c, name);
            for (Aml t : body) {
                t.encode(c);
            }
            out.u8(EXT_OP_PREFIX);
            packaged(out, DEVICE_OP, c);
        }
    }

    record Scope(String name, List<Aml> body) implements Aml {
        public Scope {
            body = List.copyOf(body);
        }

        @Override
        public void encode(LeBytes out) {
            LeBytes c = new LeBytes();
            AmlEncoding.nameString(c, name);
            for (Aml t : body) {
                t.encode(c);
            }
            packaged(out, SCOPE_OP, c);
        }
    }

    /** A buffer holding the descriptors and an End Tag with checksum 0 ("treat as valid", section 6.4.2.9). */
    record ResourceTemplate(List<AmlResource> descriptors) implements Aml {
        /** End Tag: small item 0x0F, length 1. */
        static final int END_TAG = 0x79;

        public ResourceTemplate {
            descriptors = List.copyOf(descriptors);
        }

        @Override
        public void encode(LeBytes out) {
            LeBytes b = new LeBytes();
            for (AmlResource d : descriptors) {
                d.encode(b);
            }
            b.u8(END_TAG).u8(0);
            new BufferConst(b.toArray()).encode(out);
        }
    }
}
