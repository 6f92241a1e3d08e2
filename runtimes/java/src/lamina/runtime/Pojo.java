package lamina.runtime;

import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Converts parsed JSON (see {@link Json#parse}) to a target Java type, with the
 * leniencies AWS's Jackson configuration enables: unknown properties ignored,
 * scalars coerced (number from string, string from number), a single value
 * accepted as a one-element array and vice versa, "" and [] as a null object,
 * unknown enum names as null, null for primitives as the default value.
 */
public final class Pojo {
    private Pojo() {
    }

    public static Object convert(Object json, Type type) {
        if (type instanceof Class) {
            return toClass(json, (Class<?>) type, null);
        }
        if (type instanceof ParameterizedType) {
            ParameterizedType pt = (ParameterizedType) type;
            return toClass(json, (Class<?>) pt.getRawType(), pt.getActualTypeArguments());
        }
        if (type instanceof GenericArrayType) {
            Type comp = ((GenericArrayType) type).getGenericComponentType();
            List<?> items = asList(json);
            if (items == null) {
                return null;
            }
            Object arr = Array.newInstance(rawClass(comp), items.size());
            for (int i = 0; i < items.size(); i++) {
                Array.set(arr, i, convert(items.get(i), comp));
            }
            return arr;
        }
        if (type instanceof WildcardType) {
            return convert(json, ((WildcardType) type).getUpperBounds()[0]);
        }
        if (type instanceof TypeVariable) {
            Type[] bounds = ((TypeVariable<?>) type).getBounds();
            return convert(json, bounds.length > 0 ? bounds[0] : Object.class);
        }
        return json;
    }

    static Class<?> rawClass(Type t) {
        if (t instanceof Class) {
            return (Class<?>) t;
        }
        if (t instanceof ParameterizedType) {
            return (Class<?>) ((ParameterizedType) t).getRawType();
        }
        if (t instanceof GenericArrayType) {
            return Array.newInstance(rawClass(((GenericArrayType) t).getGenericComponentType()), 0).getClass();
        }
        return Object.class;
    }

    private static IllegalArgumentException mismatch(Class<?> c, Object json) {
        String what = json instanceof Map ? "Object value" : json instanceof List ? "Array value"
                : json == null ? "null" : json.getClass().getSimpleName() + " value";
        return new IllegalArgumentException("Cannot deserialize value of type `" + c.getName() + "` from " + what);
    }

    private static List<?> asList(Object json) {
        if (json == null) {
            return null;
        }
        if (json instanceof List) {
            return (List<?>) json;
        }
        List<Object> one = new ArrayList<>(); // ACCEPT_SINGLE_VALUE_AS_ARRAY
        one.add(json);
        return one;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object toClass(Object json, Class<?> c, Type[] args) {
        if (c == Object.class) {
            return json;
        }
        // UNWRAP_SINGLE_VALUE_ARRAYS for scalar / bean targets.
        if (json instanceof List && ((List<?>) json).size() == 1 && !c.isArray()
                && !Collection.class.isAssignableFrom(c) && !Map.class.isAssignableFrom(c)) {
            json = ((List<?>) json).get(0);
        }
        if (c.isPrimitive()) {
            if (json == null) {
                return defaultPrimitive(c);
            }
            return scalar(json, box(c));
        }
        if (c == Optional.class) {
            Type inner = args != null ? args[0] : Object.class;
            return Optional.ofNullable(json == null ? null : convert(json, inner));
        }
        if (json == null) {
            return null;
        }
        if (c == String.class || Number.class.isAssignableFrom(c) || c == Boolean.class || c == Character.class) {
            return scalar(json, c);
        }
        if (c.isEnum()) {
            if (!(json instanceof String)) {
                throw mismatch(c, json);
            }
            for (Object constant : c.getEnumConstants()) {
                if (((Enum<?>) constant).name().equals(json)) {
                    return constant;
                }
            }
            return null; // READ_UNKNOWN_ENUM_VALUES_AS_NULL
        }
        if (c == byte[].class && json instanceof String) {
            return Base64.getDecoder().decode((String) json);
        }
        if (c.isArray()) {
            List<?> items = asList(json);
            Class<?> comp = c.getComponentType();
            Object arr = Array.newInstance(comp, items.size());
            for (int i = 0; i < items.size(); i++) {
                Array.set(arr, i, toClass(items.get(i), comp, null));
            }
            return arr;
        }
        if (Map.class.isAssignableFrom(c)) {
            if (!(json instanceof Map)) {
                if ("".equals(json) || (json instanceof List && ((List<?>) json).isEmpty())) {
                    return null;
                }
                throw mismatch(c, json);
            }
            Map out = newMap(c);
            Type vt = args != null && args.length == 2 ? args[1] : Object.class;
            Type kt = args != null && args.length == 2 ? args[0] : String.class;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) json).entrySet()) {
                out.put(convert(e.getKey(), kt), convert(e.getValue(), vt));
            }
            return out;
        }
        if (Collection.class.isAssignableFrom(c) || c == Iterable.class) {
            Collection out = newCollection(c);
            Type et = args != null && args.length == 1 ? args[0] : Object.class;
            for (Object item : asList(json)) {
                out.add(convert(item, et));
            }
            return out;
        }
        if (json instanceof Map) {
            return c.isRecord() ? toRecord((Map<String, Object>) json, c) : toBean((Map<String, Object>) json, c);
        }
        if ("".equals(json) || (json instanceof List && ((List<?>) json).isEmpty())) {
            return null; // ACCEPT_EMPTY_STRING_AS_NULL_OBJECT / ACCEPT_EMPTY_ARRAY_AS_NULL_OBJECT
        }
        throw mismatch(c, json);
    }

    private static Object defaultPrimitive(Class<?> c) {
        if (c == boolean.class) {
            return false;
        }
        if (c == char.class) {
            return '\0';
        }
        return scalar(0, box(c));
    }

    private static Class<?> box(Class<?> c) {
        if (c == int.class) return Integer.class;
        if (c == long.class) return Long.class;
        if (c == double.class) return Double.class;
        if (c == float.class) return Float.class;
        if (c == short.class) return Short.class;
        if (c == byte.class) return Byte.class;
        if (c == boolean.class) return Boolean.class;
        if (c == char.class) return Character.class;
        return c;
    }

    private static Object scalar(Object json, Class<?> c) {
        if (json instanceof Map || json instanceof List) {
            throw mismatch(c, json);
        }
        if (c == String.class) {
            return json.toString();
        }
        if (c == Boolean.class) {
            if (json instanceof Boolean) {
                return json;
            }
            if (json instanceof Number) {
                return ((Number) json).intValue() != 0;
            }
            String s = json.toString();
            if ("true".equals(s) || "false".equals(s)) {
                return Boolean.valueOf(s);
            }
            throw mismatch(c, json);
        }
        if (c == Character.class) {
            String s = json.toString();
            if (s.length() == 1) {
                return s.charAt(0);
            }
            throw mismatch(c, json);
        }
        BigDecimal d;
        if (json instanceof Number) {
            d = json instanceof Double || json instanceof Float
                    ? (Double.isFinite(((Number) json).doubleValue()) ? BigDecimal.valueOf(((Number) json).doubleValue()) : null)
                    : new BigDecimal(json.toString());
            if (d == null) {
                if (c == Double.class) return ((Number) json).doubleValue();
                if (c == Float.class) return ((Number) json).floatValue();
                throw mismatch(c, json);
            }
        } else if (json instanceof String) {
            try {
                d = new BigDecimal(((String) json).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Cannot deserialize value of type `" + c.getName()
                        + "` from String \"" + json + "\": not a valid number");
            }
        } else {
            throw mismatch(c, json);
        }
        if (c == Integer.class) return d.intValue();
        if (c == Long.class) return d.longValue();
        if (c == Double.class) return d.doubleValue();
        if (c == Float.class) return d.floatValue();
        if (c == Short.class) return d.shortValue();
        if (c == Byte.class) return d.byteValue();
        if (c == BigInteger.class) return d.toBigInteger();
        if (c == BigDecimal.class) return d;
        if (c == Number.class) return json instanceof Number ? json : d;
        throw mismatch(c, json);
    }

    @SuppressWarnings("rawtypes")
    private static Map newMap(Class<?> c) {
        if (!c.isInterface() && !Modifier.isAbstract(c.getModifiers())) {
            try {
                return (Map) c.getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                // fall through
            }
        }
        if (SortedMap.class.isAssignableFrom(c)) {
            return new TreeMap();
        }
        return c.isAssignableFrom(LinkedHashMap.class) ? new LinkedHashMap() : new HashMap();
    }

    @SuppressWarnings("rawtypes")
    private static Collection newCollection(Class<?> c) {
        if (!c.isInterface() && !Modifier.isAbstract(c.getModifiers())) {
            try {
                return (Collection) c.getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                // fall through
            }
        }
        if (SortedSet.class.isAssignableFrom(c)) {
            return new TreeSet();
        }
        if (Set.class.isAssignableFrom(c)) {
            return c.isAssignableFrom(LinkedHashSet.class) ? new LinkedHashSet() : new HashSet();
        }
        if (java.util.Queue.class.isAssignableFrom(c)) {
            return c.isAssignableFrom(ArrayDeque.class) ? new ArrayDeque() : new LinkedList();
        }
        return new ArrayList();
    }

    private static Object toRecord(Map<String, Object> json, Class<?> c) {
        RecordComponent[] comps = c.getRecordComponents();
        Class<?>[] types = new Class<?>[comps.length];
        Object[] values = new Object[comps.length];
        for (int i = 0; i < comps.length; i++) {
            types[i] = comps[i].getType();
            values[i] = convert(json.get(comps[i].getName()), comps[i].getGenericType());
        }
        try {
            Constructor<?> ctor = c.getDeclaredConstructor(types);
            ctor.setAccessible(true);
            return ctor.newInstance(values);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalArgumentException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static Object toBean(Map<String, Object> json, Class<?> c) {
        Object bean;
        try {
            Constructor<?> ctor = c.getDeclaredConstructor();
            ctor.setAccessible(true);
            bean = ctor.newInstance();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("Cannot construct instance of `" + c.getName()
                    + "` (no Creators, like default constructor, exist)");
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalArgumentException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(e);
        }
        Map<String, Method> setters = new HashMap<>();
        Map<String, Method> settersLower = new HashMap<>();
        for (Method m : c.getMethods()) {
            String n = m.getName();
            if (!Modifier.isStatic(m.getModifiers()) && n.startsWith("set") && n.length() > 3
                    && m.getParameterCount() == 1 && !m.isBridge()) {
                setters.putIfAbsent(Json.decapitalize(n.substring(3)), m);
                settersLower.putIfAbsent(n.substring(3).toLowerCase(java.util.Locale.ROOT), m);
            }
        }
        for (Map.Entry<String, Object> e : json.entrySet()) {
            try {
                Method setter = setters.get(e.getKey());
                if (setter == null) {
                    // AWS's serializer maps event JSON like "Records" or
                    // "eventSourceARN" onto aws-lambda-java-events beans with
                    // mixins; a case-insensitive match covers those names.
                    setter = settersLower.get(e.getKey().toLowerCase(java.util.Locale.ROOT));
                }
                if (setter != null) {
                    setter.invoke(bean, convert(e.getValue(), setter.getGenericParameterTypes()[0]));
                    continue;
                }
                Field f = publicField(c, e.getKey());
                if (f != null) {
                    f.setAccessible(true); // ALLOW_FINAL_FIELDS_AS_MUTATORS
                    f.set(bean, convert(e.getValue(), f.getGenericType()));
                }
                // unknown property: ignored (FAIL_ON_UNKNOWN_PROPERTIES off)
            } catch (java.lang.reflect.InvocationTargetException ex) {
                throw new IllegalArgumentException(ex.getCause());
            } catch (IllegalAccessException ex) {
                throw new IllegalArgumentException(ex);
            }
        }
        return bean;
    }

    private static Field publicField(Class<?> c, String name) {
        try {
            Field f = c.getField(name);
            return Modifier.isStatic(f.getModifiers()) ? null : f;
        } catch (NoSuchFieldException e) {
            return null;
        }
    }
}
