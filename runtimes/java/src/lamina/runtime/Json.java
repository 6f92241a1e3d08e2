package lamina.runtime;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A small JSON parser and serialiser.
 *
 * <p>Parsing yields LinkedHashMap / ArrayList / String / Integer|Long|BigInteger
 * / Double / Boolean / null, like Jackson's untyped deserialisation. Writing
 * follows the settings of AWS's Java serialiser (aws-lambda-java-serialization
 * JacksonFactory): null bean properties are omitted (Include.NON_NULL, map
 * values are kept), standard bean naming, no sorting, non-ASCII unescaped,
 * NaN/Infinity written as strings, byte[] as base64, enums by name.
 */
public final class Json {
    private Json() {
    }

    public static final class ParseException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ParseException(String msg) {
            super(msg);
        }
    }

    // ------------------------------------------------------------------ parse

    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.pos != text.length()) {
            throw p.error("Unexpected trailing content");
        }
        return v;
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) {
            this.s = s;
        }

        ParseException error(String msg) {
            return new ParseException(msg + " at position " + pos);
        }

        void ws() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        Object value() {
            if (pos >= s.length()) {
                throw error("Unexpected end of input");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                case 't':
                    return literal("true", Boolean.TRUE);
                case 'f':
                    return literal("false", Boolean.FALSE);
                case 'n':
                    return literal("null", null);
                case 'N':
                    return literal("NaN", Double.NaN);
                case 'I':
                    return literal("Infinity", Double.POSITIVE_INFINITY);
                default:
                    if (c == '-' && s.startsWith("-Infinity", pos)) {
                        return literal("-Infinity", Double.NEGATIVE_INFINITY);
                    }
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw error("Unexpected character '" + c + "'");
            }
        }

        Object literal(String word, Object v) {
            if (!s.startsWith(word, pos)) {
                throw error("Unexpected token");
            }
            pos += word.length();
            return v;
        }

        Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            pos++;
            ws();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                ws();
                if (pos >= s.length() || s.charAt(pos) != '"') {
                    throw error("Expected field name");
                }
                String k = string();
                ws();
                expect(':');
                ws();
                m.put(k, value());
                ws();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                    continue;
                }
                expect('}');
                return m;
            }
        }

        List<Object> array() {
            List<Object> l = new ArrayList<>();
            pos++;
            ws();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return l;
            }
            while (true) {
                ws();
                l.add(value());
                ws();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                    continue;
                }
                expect(']');
                return l;
            }
        }

        void expect(char c) {
            if (pos >= s.length() || s.charAt(pos) != c) {
                throw error("Expected '" + c + "'");
            }
            pos++;
        }

        String string() {
            pos++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= s.length()) {
                    throw error("Unterminated string");
                }
                char c = s.charAt(pos++);
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                if (pos >= s.length()) {
                    throw error("Unterminated escape");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u':
                        if (pos + 4 > s.length()) {
                            throw error("Bad unicode escape");
                        }
                        sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                        pos += 4;
                        break;
                    default:
                        sb.append(e); // \" \\ \/ and lenient any-char escapes
                }
            }
        }

        Object number() {
            int start = pos;
            boolean integral = true;
            if (s.charAt(pos) == '-') {
                pos++;
            }
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c >= '0' && c <= '9') {
                    pos++;
                } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                    integral = false;
                    pos++;
                } else {
                    break;
                }
            }
            String t = s.substring(start, pos);
            try {
                if (integral) {
                    BigInteger bi = new BigInteger(t);
                    if (bi.bitLength() < 32) {
                        return bi.intValue();
                    }
                    if (bi.bitLength() < 64) {
                        return bi.longValue();
                    }
                    return bi;
                }
                return Double.parseDouble(t);
            } catch (NumberFormatException e) {
                throw error("Bad number '" + t + "'");
            }
        }
    }

    // ------------------------------------------------------------------ write

    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb, 0);
        return sb.toString();
    }

    private static void write(Object v, StringBuilder sb, int depth) {
        if (depth > 1000) {
            throw new IllegalStateException("Direct self-reference or nesting too deep");
        }
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String || v instanceof Character) {
            quote(v.toString(), sb);
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short
                || v instanceof Byte || v instanceof BigInteger || v instanceof BigDecimal) {
            sb.append(v.toString());
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                quote(v.toString(), sb); // WRITE_NAN_AS_STRINGS
            } else {
                sb.append(v.toString());
            }
        } else if (v instanceof Number) {
            sb.append(v.toString());
        } else if (v instanceof byte[]) {
            quote(Base64.getEncoder().encodeToString((byte[]) v), sb);
        } else if (v instanceof char[]) {
            quote(new String((char[]) v), sb);
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                quote(String.valueOf(e.getKey()), sb);
                sb.append(':');
                write(e.getValue(), sb, depth + 1);
            }
            sb.append('}');
        } else if (v instanceof java.nio.file.Path) {
            quote(((java.nio.file.Path) v).toUri().toString(), sb); // Jackson's NioPathSerializer
        } else if (v instanceof Collection || v instanceof Iterable) {
            sb.append('[');
            boolean first = true;
            for (Object o : (Iterable<?>) v) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                write(o, sb, depth + 1);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            sb.append('[');
            int n = Array.getLength(v);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                write(Array.get(v, i), sb, depth + 1);
            }
            sb.append(']');
        } else if (v instanceof Enum) {
            quote(((Enum<?>) v).name(), sb);
        } else if (v instanceof Optional) {
            write(((Optional<?>) v).orElse(null), sb, depth + 1);
        } else if (v instanceof java.util.Date) {
            sb.append(((java.util.Date) v).getTime()); // WRITE_DATES_AS_TIMESTAMPS
        } else if (v.getClass().getName().startsWith("java.")) {
            quote(v.toString(), sb); // java.time.*, UUID, URI, ...
        } else {
            writeBean(v, sb, depth);
        }
    }

    private static void writeBean(Object v, StringBuilder sb, int depth) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<String, Object> e : beanProperties(v).entrySet()) {
            if (e.getValue() == null) {
                continue; // Include.NON_NULL
            }
            if (!first) {
                sb.append(',');
            }
            first = false;
            quote(e.getKey(), sb);
            sb.append(':');
            write(e.getValue(), sb, depth + 1);
        }
        sb.append('}');
    }

    /** Readable properties of a record or bean, in Jackson's default order. */
    static Map<String, Object> beanProperties(Object v) {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            for (Accessor a : accessors(v.getClass())) {
                out.put(a.name, a.get(v));
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static final class Accessor {
        final String name;
        final Method method;
        final Field field;

        Accessor(String name, Method method, Field field) {
            this.name = name;
            this.method = method;
            this.field = field;
        }

        Object get(Object target) throws ReflectiveOperationException {
            try {
                return method != null ? method.invoke(target) : field.get(target);
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable c = e.getCause();
                throw c instanceof RuntimeException ? (RuntimeException) c : new IllegalStateException(c);
            }
        }
    }

    private static final Map<Class<?>, List<Accessor>> ACCESSORS = new ConcurrentHashMap<>();

    private static List<Accessor> accessors(Class<?> c) {
        return ACCESSORS.computeIfAbsent(c, Json::computeAccessors);
    }

    private static List<Accessor> computeAccessors(Class<?> c) {
        Map<String, Accessor> props = new LinkedHashMap<>();
        if (c.isRecord()) {
            for (RecordComponent rc : c.getRecordComponents()) {
                Method m = rc.getAccessor();
                m.setAccessible(true);
                props.put(rc.getName(), new Accessor(rc.getName(), m, null));
            }
            return new ArrayList<>(props.values());
        }
        // Jackson orders properties by field declaration (superclass first),
        // then getter-only properties.
        List<Class<?>> chain = new ArrayList<>();
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
            chain.add(0, k);
        }
        Map<String, Field> publicFields = new LinkedHashMap<>();
        for (Class<?> k : chain) {
            for (Field f : k.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (Modifier.isStatic(mod) || Modifier.isTransient(mod) || f.isSynthetic()) {
                    continue;
                }
                props.put(f.getName(), null); // reserve the position
                if (Modifier.isPublic(mod)) {
                    publicFields.put(f.getName(), f);
                }
            }
        }
        Map<String, Method> getters = new LinkedHashMap<>();
        for (Method m : c.getMethods()) {
            String n = propertyNameOfGetter(m);
            if (n != null) {
                getters.putIfAbsent(n, m);
            }
        }
        for (Map.Entry<String, Method> g : getters.entrySet()) {
            props.put(g.getKey(), new Accessor(g.getKey(), g.getValue(), null));
        }
        for (Map.Entry<String, Field> f : publicFields.entrySet()) {
            if (props.get(f.getKey()) == null) {
                props.put(f.getKey(), new Accessor(f.getKey(), null, f.getValue()));
            }
        }
        List<Accessor> list = new ArrayList<>();
        for (Accessor a : props.values()) {
            if (a != null) {
                list.add(a);
            }
        }
        return list;
    }

    static String propertyNameOfGetter(Method m) {
        if (Modifier.isStatic(m.getModifiers()) || m.getParameterCount() != 0 || m.isBridge()
                || m.getDeclaringClass() == Object.class) {
            return null;
        }
        String n = m.getName();
        if (n.startsWith("get") && n.length() > 3 && m.getReturnType() != void.class) {
            return decapitalize(n.substring(3));
        }
        if (n.startsWith("is") && n.length() > 2 && m.getReturnType() == boolean.class) {
            return decapitalize(n.substring(2));
        }
        return null;
    }

    /** java.beans.Introspector.decapitalize (MapperFeature.USE_STD_BEAN_NAMING). */
    static String decapitalize(String name) {
        if (name.length() > 1 && Character.isUpperCase(name.charAt(0)) && Character.isUpperCase(name.charAt(1))) {
            return name;
        }
        return Character.toLowerCase(name.charAt(0)) + name.substring(1);
    }

    static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04X", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
