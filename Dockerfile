# Parley's server image: built with the .NET SDK, run on the ASP.NET Core runtime as a non-root user.
#   docker build -t parley .
#   docker run -p 8080:8080 -v parley-data:/data parley
# Settings come from environment variables (README, "Configuration"), e.g.
#   -e Parley__Storage__Provider=Postgres -e Parley__Storage__ConnectionString='Host=...'

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Parley.Server/Parley.Server.csproj src/Parley.Server/
RUN dotnet restore src/Parley.Server/Parley.Server.csproj
COPY src/Parley.Server/ src/Parley.Server/
RUN dotnet publish src/Parley.Server/Parley.Server.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# The SQLite file (the default store) and media files (blobs/) live in /data; mount a volume there
# to keep them, or keep media in S3 (Parley__Blobs__Provider=S3), as on AWS.
RUN mkdir /data && chown "$APP_UID" /data
COPY --from=build /app ./
# The runtime image's unprivileged "app" user.
USER $APP_UID
# DOTNET_GCgen0size: collect gen0 every 32 MiB allocated at least; where the machine reports no cache
# size the runtime's own budget is a few MiB, a collection several times a second under load
# (README, "Operations").
ENV ASPNETCORE_URLS=http://+:8080 \
    Parley__DataDirectory=/data \
    DOTNET_gcServer=0 \
    DOTNET_GCgen0size=0x2000000
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["dotnet", "Parley.Server.dll"]
