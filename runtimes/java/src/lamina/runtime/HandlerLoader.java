package lamina.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves a handler string the way AWS's Java runtime does
 * (aws-lambda-java-runtime-interface-client: AWSLambda.findRequestHandler,
 * HandlerInfo, EventHandlerLoader):
 * <ul>
 * <li>"pkg.Class" must implement RequestStreamHandler or RequestHandler;</li>
 * <li>"pkg.Class::method" picks the best public overload among (in order of
 * preference) (InputStream, OutputStream, Context), (I, Context), (I), ()...</li>
 * </ul>
 * Class-not-found and signature problems are non-fatal user faults reported on
 * every invoke; a throwing static initialiser or constructor is a fatal init
 * error.
 */
final class HandlerLoader {
    private HandlerLoader() {
    }

    /** A loaded handler: raw event bytes in, raw response bytes out. */
    interface Invoker {
        byte[] call(byte[] input, Context context) throws Throwable;
    }

    static final class FaultInvoker implements Invoker {
        final UserFault fault;

        FaultInvoker(UserFault fault) {
            this.fault = fault;
        }

        public byte[] call(byte[] input, Context context) {
            throw fault;
        }
    }

    private static final byte[] JSON_NULL = "null".getBytes(StandardCharsets.UTF_8);

    static Invoker load(String handler, ClassLoader cl) {
        int colon = handler.lastIndexOf("::");
        String className = colon < 0 ? handler : handler.substring(0, colon);
        String methodName = colon < 0 ? null : handler.substring(colon + 2);
        if (className.isEmpty() || (methodName != null && methodName.isEmpty())) {
            return new FaultInvoker(UserFault.message("Invalid handler: `" + handler + "'"));
        }
        Class<?> clazz;
        try {
            clazz = Class.forName(className, true, cl);
        } catch (ClassNotFoundException e) {
            return new FaultInvoker(UserFault.classNotFound(e, className));
        } catch (NoClassDefFoundError e) {
            return new FaultInvoker(UserFault.initError(e, className));
        } catch (Throwable t) {
            throw UserFault.initError(t, className); // e.g. ExceptionInInitializerError
        }
        Invoker invoker = methodName == null ? loadClassHandler(clazz) : loadMethodHandler(clazz, methodName);
        if (invoker instanceof FaultInvoker && ((FaultInvoker) invoker).fault.fatal) {
            throw ((FaultInvoker) invoker).fault;
        }
        return invoker;
    }

    // ------------------------------------------------------- instantiation

    private static Object newInstance(Class<?> clazz) throws Exception {
        Constructor<?> ctor;
        try {
            ctor = clazz.getConstructor();
        } catch (NoSuchMethodException e) {
            if (clazz.getEnclosingClass() != null && !Modifier.isStatic(clazz.getModifiers())) {
                throw new Exception("Class " + clazz.getName()
                        + " cannot be instantiated because it is a non-static inner class");
            }
            throw new Exception("Class " + clazz.getName() + " has no public zero-argument constructor", e);
        }
        try {
            return ctor.newInstance();
        } catch (InvocationTargetException e) {
            // A throwing constructor is a fatal (init) fault.
            throw UserFault.of(e.getCause() == null ? e : e.getCause(), true);
        }
    }

    // ------------------------------------------------------- Class handlers

    private static Invoker loadClassHandler(Class<?> clazz) {
        try {
            if (RequestStreamHandler.class.isAssignableFrom(clazz)) {
                RequestStreamHandler h = (RequestStreamHandler) newInstance(clazz);
                return (input, ctx) -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
                    h.handleRequest(new ByteArrayInputStream(input), out, ctx);
                    return out.toByteArray();
                };
            }
            if (RequestHandler.class.isAssignableFrom(clazz)) {
                Type[] p = requestHandlerTypes(clazz);
                if (p == null) {
                    return new FaultInvoker(UserFault.message("Class " + clazz.getName()
                            + " does not implement RequestHandler with concrete type parameters"));
                }
                @SuppressWarnings("unchecked")
                RequestHandler<Object, Object> h = (RequestHandler<Object, Object>) newInstance(clazz);
                return pojo(p[0], p[1], h::handleRequest);
            }
            return new FaultInvoker(UserFault.message(
                    "Class does not implement an appropriate handler interface: " + clazz.getName()));
        } catch (UserFault f) {
            return new FaultInvoker(f);
        } catch (Throwable t) {
            return new FaultInvoker(UserFault.of(t, false));
        }
    }

    /** Resolve RequestHandler's <I, O> through the class hierarchy. */
    private static Type[] requestHandlerTypes(Class<?> clazz) {
        return findTypeArgs(clazz, new HashMap<>());
    }

    private static Type[] findTypeArgs(Type t, Map<TypeVariable<?>, Type> bindings) {
        Class<?> raw = Pojo.rawClass(t);
        if (t instanceof ParameterizedType) {
            Type[] args = ((ParameterizedType) t).getActualTypeArguments();
            TypeVariable<?>[] vars = raw.getTypeParameters();
            Map<TypeVariable<?>, Type> inner = new HashMap<>(bindings);
            for (int i = 0; i < vars.length && i < args.length; i++) {
                Type a = args[i];
                inner.put(vars[i], a instanceof TypeVariable && bindings.containsKey(a) ? bindings.get(a) : a);
            }
            if (raw == RequestHandler.class) {
                Type[] out = new Type[2];
                for (int i = 0; i < 2; i++) {
                    out[i] = inner.get(vars[i]);
                    if (out[i] instanceof TypeVariable) {
                        Type[] b = ((TypeVariable<?>) out[i]).getBounds();
                        if (b.length == 0 || b[0] == Object.class) {
                            return null; // no concrete type parameter
                        }
                        out[i] = b[0];
                    }
                }
                return out;
            }
            bindings = inner;
        } else if (raw == RequestHandler.class) {
            return null; // raw RequestHandler
        }
        List<Type> supers = new ArrayList<>(Arrays.asList(raw.getGenericInterfaces()));
        if (raw.getGenericSuperclass() != null) {
            supers.add(raw.getGenericSuperclass());
        }
        for (Type s : supers) {
            if (RequestHandler.class.isAssignableFrom(Pojo.rawClass(s))) {
                Type[] r = findTypeArgs(s, bindings);
                if (r != null) {
                    return r;
                }
            }
        }
        return null;
    }

    interface PojoCall {
        Object call(Object input, Context ctx) throws Throwable;
    }

    private static boolean isVoid(Type t) {
        return t == void.class || t == Void.class;
    }

    /** JSON -> input type, call, result -> JSON (EventHandlerLoader.PojoHandlerAsStreamHandler). */
    private static Invoker pojo(Type inType, Type outType, PojoCall fn) {
        return (bytes, ctx) -> {
            Object input;
            try {
                input = inType == null ? null
                        : Pojo.convert(Json.parse(new String(bytes, StandardCharsets.UTF_8)), inType);
            } catch (Throwable t) {
                throw new RuntimeException("An error occurred during JSON parsing", UserFault.filterStackTrace(t));
            }
            Object output = fn.call(input, ctx);
            if (outType == null || isVoid(outType)) {
                return JSON_NULL;
            }
            try {
                return Json.write(output).getBytes(StandardCharsets.UTF_8);
            } catch (Throwable t) {
                throw new RuntimeException("An error occurred during JSON serialization of response", t);
            }
        };
    }

    // ------------------------------------------------------ Method handlers

    private static boolean isContext(Type t) {
        return t == Context.class;
    }

    /** Non-bridge first, then longer signatures (a trailing Context counts double). */
    private static final Comparator<Method> PRIORITY = (l, r) -> {
        if (!l.isBridge() && r.isBridge()) {
            return -1;
        }
        if (l.isBridge() && !r.isBridge()) {
            return 1;
        }
        return -Integer.compare(weight(l), weight(r));
    };

    private static int weight(Method m) {
        Class<?>[] p = m.getParameterTypes();
        return p.length + (p.length > 0 && isContext(p[p.length - 1]) ? 1 : 0);
    }

    private static Invoker loadMethodHandler(Class<?> clazz, String name) {
        Method[] all;
        try {
            all = clazz.getMethods();
        } catch (NoClassDefFoundError e) {
            return new FaultInvoker(new UserFault("Error loading method " + name + " on class " + clazz.getName(),
                    e.getClass().getName(), UserFault.trace(e), false));
        }
        List<Method> candidates = new ArrayList<>();
        for (Method m : all) {
            if (m.getName().equals(name)) {
                candidates.add(m);
            }
        }
        candidates.sort(PRIORITY);
        for (Method m : candidates) {
            Invoker inv = fromOverload(clazz, m);
            if (inv != null) {
                return inv;
            }
        }
        return new FaultInvoker(UserFault.message("No public method named " + name
                + " with appropriate method signature found on class " + clazz.getName()));
    }

    private static Invoker fromOverload(Class<?> clazz, Method m) {
        Type r = m.getGenericReturnType();
        Type[] p = m.getGenericParameterTypes();
        switch (p.length) {
            case 0:
                return pojoMethod(clazz, m, null, r, false);
            case 1:
                if (p[0] == InputStream.class) {
                    return streamMethod(clazz, m, true, false, false);
                } else if (p[0] == OutputStream.class) {
                    return streamMethod(clazz, m, false, true, false);
                } else if (isContext(p[0])) {
                    return pojoMethod(clazz, m, null, r, true);
                }
                return pojoMethod(clazz, m, p[0], r, false);
            case 2:
                if (p[0] == OutputStream.class && isContext(p[1])) {
                    return streamMethod(clazz, m, false, true, true);
                } else if (p[0] == InputStream.class && p[1] == OutputStream.class) {
                    return streamMethod(clazz, m, true, true, false);
                } else if (p[0] == InputStream.class && isContext(p[1])) {
                    return streamMethod(clazz, m, true, false, true);
                } else if (!isContext(p[0]) && p[0] != InputStream.class && p[0] != OutputStream.class
                        && isContext(p[1])) {
                    return pojoMethod(clazz, m, p[0], r, true);
                }
                System.err.println("Ignoring two-argument overload of " + m.getName()
                        + " because its argument signature is not supported");
                return null;
            case 3:
                if (p[0] == InputStream.class && p[1] == OutputStream.class && isContext(p[2])) {
                    return streamMethod(clazz, m, true, true, true);
                }
                System.err.println("Ignoring three-argument overload because argument signature is not "
                        + "(InputStream, OutputStream, Context");
                return null;
            default:
                System.err.println("Ignoring an overload of method " + m.getName()
                        + " because it has too many parameters: Expected at most 3, got " + p.length);
                return null;
        }
    }

    private static Object instanceFor(Class<?> clazz, Method m) throws Exception {
        return Modifier.isStatic(m.getModifiers()) ? null : newInstance(clazz);
    }

    private static Object invoke(Method m, Object target, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause() != null ? e.getCause() : e;
        }
    }

    private static Invoker pojoMethod(Class<?> clazz, Method m, Type pType, Type rType, boolean needsContext) {
        try {
            Object target = instanceFor(clazz, m);
            m.setAccessible(true);
            return pojo(pType, rType, (input, ctx) -> {
                List<Object> args = new ArrayList<>(2);
                if (pType != null) {
                    args.add(input);
                }
                if (needsContext) {
                    args.add(ctx);
                }
                return invoke(m, target, args.toArray());
            });
        } catch (UserFault f) {
            return new FaultInvoker(f);
        } catch (Throwable t) {
            return new FaultInvoker(UserFault.of(t, false));
        }
    }

    private static Invoker streamMethod(Class<?> clazz, Method m, boolean needsIn, boolean needsOut,
                                        boolean needsContext) {
        try {
            Object target = instanceFor(clazz, m);
            m.setAccessible(true);
            return (bytes, ctx) -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
                List<Object> args = new ArrayList<>(3);
                if (needsIn) {
                    args.add(new ByteArrayInputStream(bytes));
                }
                if (needsOut) {
                    args.add(out);
                }
                if (needsContext) {
                    args.add(ctx);
                }
                invoke(m, target, args.toArray());
                return out.toByteArray();
            };
        } catch (UserFault f) {
            return new FaultInvoker(f);
        } catch (Throwable t) {
            return new FaultInvoker(UserFault.of(t, false));
        }
    }
}
