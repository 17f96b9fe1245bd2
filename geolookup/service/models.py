"""Response and request schemas of the service, for the OpenAPI document (with examples).

Answers are written as JSON by the handlers (the locate answers as text, for speed); these models
describe them and are what schemathesis checks the answers against.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["within", "nearest", "none"]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "lat: Input should be less than or equal to 90", "field": "lat",
         "fix": "give lat in degrees WGS84, between -90 and 90"}]})
    error: str = Field(description="What is wrong, one line.")
    field: str | None = Field(description="The query parameter, path part, header or body field at fault.")
    fix: str = Field(description="How to fix the request.")


class GadmLevel(BaseModel):
    gadm_level: int = Field(description="GADM level (0 = country; Data Hub administrative_area_level = this + 1).")
    gid: str = Field(description="GADM 3.6 GID at this level.")
    name: str = Field(description="GADM NAME_<level>.")


class GadmHit(BaseModel):
    method: Method = Field(description="within: the area holds the point; nearest: the nearest area within "
                                       "service.gadm_nearest_km; none: no area.")
    distance_km: float | None = Field(description="0 within, geodesic km to the area for nearest, null for none.")
    gid: str | None = Field(description="GID of the finest level answered.")
    gadm_level: int | None
    levels: list[GadmLevel] = Field(description="GID and name at every GADM level from 0 down.")


class NutsHit(BaseModel):
    method: Method = Field(description="within, nearest (within nuts.tolerance_km) or none.")
    distance_km: float | None
    nuts_0: str | None
    nuts_1: str | None
    nuts_2: str | None
    nuts_3: str | None


class LocateResult(BaseModel):
    """The GADM areas and NUTS 2021 regions holding one point."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "lat": 41.9, "lon": 12.5,
        "gadm": {"method": "within", "distance_km": 0.0, "gid": "ITA.7.5_1", "gadm_level": 2, "levels": [
            {"gadm_level": 0, "gid": "ITA", "name": "Italy"}, {"gadm_level": 1, "gid": "ITA.7_1", "name": "Lazio"},
            {"gadm_level": 2, "gid": "ITA.7.5_1", "name": "Roma"}]},
        "nuts": {"method": "within", "distance_km": 0.0, "nuts_0": "IT", "nuts_1": "ITI", "nuts_2": "ITI4",
                 "nuts_3": "ITI43"}}]})
    lat: float = Field(description="Latitude, degrees WGS84 (EPSG:4326), as sent.")
    lon: float = Field(description="Longitude, degrees WGS84, as sent.")
    gadm: GadmHit
    nuts: NutsHit


class LocateBatch(BaseModel):
    count: int
    results: list[LocateResult] = Field(description="One answer per input point, in input order.")


class LocateColumns(BaseModel):
    """``POST /v1/locate?layout=columns``: the same answers, one array per column (input order)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 1, "columns": {
        "lat": [41.9], "lon": [12.5], "gid": ["ITA.8.4_1"], "gadm_level": [2], "gadm_method": ["within"],
        "gadm_distance_km": [0.0], "GID_0": ["ITA"], "NAME_0": ["Italy"], "GID_1": ["ITA.8_1"], "NAME_1": ["Lazio"],
        "GID_2": ["ITA.8.4_1"], "NAME_2": ["Roma"], "nuts_0": ["IT"], "nuts_1": ["ITI"], "nuts_2": ["ITI4"],
        "nuts_3": ["ITI43"], "nuts_method": ["within"], "nuts_distance_km": [0.0]}}]})
    count: int
    columns: dict[str, list[str | float | int | None]] = Field(description=(
        "lat, lon, gid, gadm_level, gadm_method, gadm_distance_km, GID_k and NAME_k for every GADM level answered, "
        "nuts_0..nuts_3, nuts_method, nuts_distance_km (the columns of geolookup.locate); null = none."))


class Candidate(BaseModel):
    gid: str
    score: float = Field(ge=0, le=100)


class MatchQuery(BaseModel):
    """The query of ``GET /v1/match`` (its parameters, validated as one model), echoed in the answer."""

    name: str = Field(min_length=1, max_length=500, description="The provider's place name.", examples=["Autauga"])
    country: str = Field(pattern="^[A-Za-z]{3}$", description="ISO3 code.", examples=["USA"])
    gadm_level: int = Field(ge=1, le=5, description="GADM level to match.", examples=[2])
    parent: str = Field("", max_length=500, description="Parent name, code or GID one GADM level up.",
                        examples=["Alabama"])
    code: str = Field("", max_length=100, description="HASC, ISO 3166-2, GADM CC or GID.")
    source: str = Field("api", min_length=1, max_length=100, description="Provider name, as `geolookup match "
                        "--source`: curators' decisions of this source apply.")


class MatchResult(BaseModel):
    """What ``geolookup match`` writes for this name (columns match_status, gid, gid_parts, match_score,
    match_method, candidates) plus its reason and the GADM level matched."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": {"name": "Autauga", "country": "USA", "gadm_level": 2, "parent": "Alabama", "code": "",
                  "source": "api"},
        "decision": "accepted", "gid": "USA.1.1_1", "gid_parts": ["USA.1.1_1"], "score": 100.0, "method": "exact",
        "reason": "exact name (tier 0)", "match_gadm_level": 2,
        "candidates": [{"gid": "USA.1.1_1", "score": 100.0}]}]})
    query: MatchQuery
    decision: Literal["accepted", "review", "unmatched"]
    gid: str | None
    gid_parts: list[str]
    score: float
    method: str
    reason: str
    match_gadm_level: int
    candidates: list[Candidate] = Field(max_length=5)


Cell = str | float | int | None


class LocationOne(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"location": {
        "id": "ed79e985", "id_github.pcmdpc.covid19": "Abruzzo", "administrative_area_level": 2,
        "administrative_area_level_2": "Abruzzo", "key_gadm": "ITA.1_1", "key_local": "13", "key_nuts": "ITF1",
        "iso3": "ITA", "latitude": 42.289361955, "longitude": 13.8537401220191}}]})
    location: dict[str, Cell] = Field(description="One lookup row in the Data Hub's columns (null = NA), plus iso3.")


class LocationList(BaseModel):
    count: int
    locations: list[dict[str, Cell]]


class PolicySeries(BaseModel):
    id: str
    count: int
    policies: list[dict[str, Cell]] = Field(description="One row per date: the columns `geolookup policies` writes.")


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: Literal["ready", "loading", "failed"]
    countries: list[str] = []
    generation: str | None = None
    detail: str | None = None


POINT_BODY_SCHEMA = {
    "oneOf": [
        {"type": "array", "description": "Points as {lat, lon} in degrees WGS84.",
         "items": {"type": "object", "required": ["lat", "lon"], "properties": {
             "lat": {"type": "number", "minimum": -90, "maximum": 90},
             "lon": {"type": "number", "minimum": -180, "maximum": 180}}}},
        {"type": "object", "description": "A GeoJSON FeatureCollection of Point features (EPSG:4326).",
         "required": ["type", "features"], "properties": {
             "type": {"type": "string", "enum": ["FeatureCollection"]},
             "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry"], "properties": {
                 "type": {"type": "string", "enum": ["Feature"]},
                 "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                     "type": {"type": "string", "enum": ["Point"]},
                     "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}}}}}}}},
    ],
}
POINT_BODY_EXAMPLES = {
    "points": {"summary": "array of {lat, lon}", "value": [{"lat": 41.9, "lon": 12.5}, {"lat": 45.46, "lon": 9.19}]},
    "geojson": {"summary": "GeoJSON FeatureCollection", "value": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [12.5, 41.9]}, "properties": {}}]}},
}
